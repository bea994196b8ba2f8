import { randomUUID } from 'node:crypto';
import type { ChatEvent } from '../domain/chat-events.js';
import { dixieError } from '../errors.js';
import type { Logger } from '../logger.js';
import { viaFinn } from './finn/call.js';
import { assertNftId, isSessionId } from './finn/ids.js';
import type { Finn, FinnCallContext } from './finn/index.js';
import type { MessageReply } from './finn/schemas.js';
import type { ChatActivity, ChatStreamManager } from './finn/stream-manager.js';
import type { NatsHandle } from './nats.js';
import type { ChatSessionRecord, ChatSessionRepo } from './postgres/chat-session-repo.js';

export const INTERACTION_SUBJECT = 'dixie.signal.interaction';

export interface FinnSessionView {
  isStreaming: boolean;
  messageCount: number;
}

export interface ChatService {
  /** Creates a Finn session (with the NFT's personality when given) owned by `owner`. */
  start(owner: string, nftId: string | null, ctx: FinnCallContext): Promise<ChatSessionRecord>;
  list(owner: string, limit: number): Promise<ChatSessionRecord[]>;
  /** The session when `owner` owns it; NOT_FOUND otherwise, whether it is absent or someone else's. */
  owned(owner: string, id: string): Promise<ChatSessionRecord>;
  /** Finn's counters for a session (never its raw state); null once Finn has evicted it. */
  finnView(id: string, ctx: FinnCallContext): Promise<FinnSessionView | null>;
  /** A synchronous turn (finn.md A.2), reported to the chat listeners like a streamed one. */
  send(session: ChatSessionRecord, wallet: string, text: string, ctx: FinnCallContext): Promise<MessageReply>;
}

/** The frames a streamed turn would have produced, so listeners (soul memory) see both paths alike. */
function replyEvents(reply: MessageReply): ChatEvent[] {
  const events: ChatEvent[] = [];
  for (const call of reply.toolCalls) {
    events.push({ type: 'tool_start', toolName: call.name, args: call.args ?? null });
    const result = typeof call.result === 'string' ? call.result : JSON.stringify(call.result ?? null);
    events.push({ type: 'tool_end', toolName: call.name, result, isError: false });
  }
  if (reply.response) events.push({ type: 'text_delta', delta: reply.response });
  events.push({ type: 'agent_end', messageId: randomUUID(), usage: null });
  return events;
}

export function createChat(deps: { finn: Finn; repo: ChatSessionRepo; streams: ChatStreamManager; nats: NatsHandle | null; logger: Logger }): ChatService {
  const { finn, repo, streams } = deps;

  // domain.md: every chat that completes publishes an interaction signal (reputation consumes it).
  streams.onEvent((a) => {
    if (a.kind !== 'event' || a.event.type !== 'agent_end' || !deps.nats) return;
    deps.nats.publish(INTERACTION_SUBJECT, { wallet: a.wallet, nftId: a.nftId, sessionId: a.sessionId, timestamp: new Date().toISOString() });
  });

  return {
    async start(owner, nftId, ctx) {
      const tokenId = nftId === null ? undefined : assertNftId(nftId);
      const created = await viaFinn(finn.breaker, () => finn.client.createSession(tokenId ? { token_id: tokenId } : {}, ctx));
      // Finn's id goes into WebSocket paths later: one Dixie cannot use is Finn's fault, not the caller's.
      if (!isSessionId(created.sessionId)) throw dixieError('UPSTREAM_ERROR', 'The agent runtime answered with an unusable session id');
      const record: ChatSessionRecord = { id: created.sessionId, ownerWallet: owner.toLowerCase(), nftId, createdAt: new Date() };
      await repo.create(record);
      return record;
    },
    list: (owner, limit) => repo.listByOwner(owner, limit),
    async owned(owner, id) {
      // An id Finn could not have issued is absent, without asking the store.
      const record = isSessionId(id) ? await repo.get(id) : null;
      if (!record || record.ownerWallet !== owner.toLowerCase()) throw dixieError('NOT_FOUND', 'Chat session not found');
      return record;
    },
    async finnView(id, ctx) {
      const info = await viaFinn(finn.breaker, () => finn.client.getSession(id, ctx));
      return info ? { isStreaming: info.isStreaming, messageCount: info.messageCount } : null;
    },
    async send(session, wallet, text, ctx) {
      const meta = { sessionId: session.id, nftId: session.nftId, wallet };
      const reply = await viaFinn(finn.breaker, () => finn.client.sendMessage(session.id, text, ctx));
      const activity: ChatActivity[] = [{ kind: 'prompt', ...meta, text }, ...replyEvents(reply).map((event) => ({ kind: 'event' as const, ...meta, event }))];
      for (const a of activity) streams.report(a);
      return reply;
    },
  };
}
