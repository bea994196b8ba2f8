import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export const CHAT_SUBSCRIPTION = /* GraphQL */ `
  subscription Chat($sessionId: ID!, $text: String!) {
    chat(sessionId: $sessionId, text: $text) {
      __typename
      ... on ChatModelSelection { pool reason }
      ... on ChatTextDelta { delta }
      ... on ChatToolStart { toolName args }
      ... on ChatToolEnd { toolName result isError }
      ... on ChatTurnEnd { costCu balanceCu }
      ... on ChatAgentEnd { messageId usage { costCu } }
      ... on ChatCompaction { reason }
      ... on ChatError { code message recoverable retryAfter }
    }
  }
`;

export type ChatEventJson = { __typename: string } & Record<string, unknown>;

export interface StreamResult {
  events: ChatEventJson[];
  errors: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

export function wsClient(url: string, connectionParams: Record<string, string>): Client {
  return createClient({ url, webSocketImpl: WebSocket, connectionParams, lazy: true, retryAttempts: 0 });
}

/**
 * Runs the chat subscription over graphql-ws until it completes; `onEvent` may return 'stop' to
 * leave early (the client then sends `complete`, as a closing browser tab would).
 */
export async function chatOverWs(
  client: Client,
  variables: { sessionId: string; text: string },
  onEvent?: (e: ChatEventJson) => 'stop' | void,
): Promise<StreamResult> {
  const out: StreamResult = { events: [], errors: [] };
  const it = client.iterate<{ chat: ChatEventJson }>({ query: CHAT_SUBSCRIPTION, variables });
  try {
    for await (const result of it) {
      if (result.errors) out.errors.push(...(result.errors as StreamResult['errors']));
      if (result.data?.chat) {
        out.events.push(result.data.chat);
        if (onEvent?.(result.data.chat) === 'stop') break;
      }
    }
  } catch (err) {
    out.errors.push(...(Array.isArray(err) ? (err as StreamResult['errors']) : [{ message: String(err) }]));
  }
  return out;
}

/** Runs the chat subscription over SSE (POST, Accept: text/event-stream) until `complete` or `onEvent` says stop. */
export async function chatOverSse(
  graphqlUrl: string,
  headers: Record<string, string>,
  variables: { sessionId: string; text: string },
  onEvent?: (e: ChatEventJson) => 'stop' | void,
): Promise<StreamResult & { status: number }> {
  const ctl = new AbortController();
  const res = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query: CHAT_SUBSCRIPTION, variables }),
    signal: ctl.signal,
  });
  const out = { status: res.status, events: [] as ChatEventJson[], errors: [] as StreamResult['errors'] };
  if (!res.body) return out;
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let sep: number;
      while ((sep = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, sep);
        buffer = buffer.slice(sep + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (event === 'complete') return out;
        if (event !== 'next' || !data) continue;
        const result = JSON.parse(data) as { data?: { chat?: ChatEventJson } | null; errors?: StreamResult['errors'] };
        if (result.errors) out.errors.push(...result.errors);
        if (result.data?.chat) {
          out.events.push(result.data.chat);
          if (onEvent?.(result.data.chat) === 'stop') {
            ctl.abort();
            return out;
          }
        }
      }
    }
  } catch (err) {
    if (!ctl.signal.aborted) throw err;
  }
  return out;
}

export const typenames = (events: ChatEventJson[]) => events.map((e) => e.__typename);
export const text = (events: ChatEventJson[]) => events.filter((e) => e.__typename === 'ChatTextDelta').map((e) => e.delta).join('');
