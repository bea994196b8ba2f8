import WebSocket from 'ws';

export interface WsMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

/** A graphql-transport-ws socket driven by hand, to observe acks, close codes and raw messages. */
export interface RawWs {
  socket: WebSocket;
  messages: WsMessage[];
  closed: Promise<{ code: number; reason: string }>;
  send(msg: WsMessage): void;
  /** Sends connection_init and resolves with `ack` or the close code. */
  init(payload?: Record<string, unknown>): Promise<'ack' | number>;
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  waitFor(pred: (m: WsMessage) => boolean, timeoutMs?: number): Promise<WsMessage>;
  close(): void;
}

export async function openRawWs(url: string): Promise<RawWs> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const messages: WsMessage[] = [];
  const listeners = new Set<() => void>();
  socket.on('message', (data: Buffer) => {
    messages.push(JSON.parse(data.toString('utf8')) as WsMessage);
    for (const l of listeners) l();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code: number, reason: Buffer) => {
      resolve({ code, reason: reason.toString('utf8') });
      for (const l of listeners) l();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const waitFor = (pred: (m: WsMessage) => boolean, timeoutMs = 5_000) =>
    new Promise<WsMessage>((resolve, reject) => {
      const check = () => {
        const hit = messages.find(pred);
        if (hit) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out; messages: ${JSON.stringify(messages)}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  const send = (msg: WsMessage) => socket.send(JSON.stringify(msg));
  return {
    socket,
    messages,
    closed,
    send,
    async init(payload) {
      send({ type: 'connection_init', ...(payload ? { payload } : {}) });
      return Promise.race([waitFor((m) => m.type === 'connection_ack').then(() => 'ack' as const), closed.then((c) => c.code)]);
    },
    subscribe: (id, query, variables) => send({ id, type: 'subscribe', payload: { query, variables } }),
    waitFor,
    close: () => socket.close(),
  };
}
