import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * Coalesces the messages sent on one WebSocket within an event-loop turn into a single socket write.
 *
 * Every graphql-ws `next` is one `ws.send`, and every send is otherwise its own `writev` system call.
 * When a client holds several subscriptions (chat streams, `healthChanged`) and their events arrive
 * together, the first send of a turn corks the TCP socket and a `setImmediate` uncorks it after the
 * I/O phase that produced the events: one write carries them all. An idle connection pays nothing;
 * a busy one waits at most until the end of the current turn, which it would spend queued on the CPU
 * anyway. Frames keep their order (the socket's own buffer), and close/ping frames flush with them.
 */
export function coalesceSends(ws: WebSocket, socket: Duplex): void {
  let corked = false;
  const flush = (): void => {
    corked = false;
    socket.uncork();
  };
  const send = ws.send.bind(ws) as (data: unknown, ...rest: unknown[]) => void;
  const coalesced = (data: unknown, ...rest: unknown[]): void => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      setImmediate(flush);
    }
    send(data, ...rest);
  };
  ws.send = coalesced as WebSocket['send'];
}
