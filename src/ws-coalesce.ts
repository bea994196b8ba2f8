import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';

/**
 * How long a corked socket may hold its messages inside one long event-loop turn. When many
 * upstream events arrive at once (hundreds of chat deltas in one I/O phase), flushing only at the
 * end of the turn would make every one of them wait for all the others; flushing what has waited
 * this long lets the first ones leave, and the client read them, while the rest are processed.
 */
const MAX_HOLD_MS = 1;

/** Wraps a server-side WebSocket so that its sends are coalesced (see createSendCoalescer). */
export type CoalesceSends = (ws: WebSocket, socket: Duplex) => void;

/**
 * Coalesces the messages sent on a WebSocket within an event-loop turn into a single socket write.
 *
 * Every graphql-ws `next` is one `ws.send`, and every send is otherwise its own `writev` system call.
 * When a client holds several subscriptions (chat streams, `healthChanged`) and their events arrive
 * together, the first send of a turn corks the TCP socket and one `setImmediate` (shared by every
 * socket of this coalescer) uncorks it after the I/O phase that produced the events: one write
 * carries them all. A turn that runs long flushes every corked socket once the oldest cork is
 * `maxHoldMs` old. An idle connection pays nothing; a busy one waits until the end of the current
 * turn, at most `maxHoldMs`. Frames keep their order (the socket's own buffer), and close/ping
 * frames flush with them.
 */
export function createSendCoalescer(maxHoldMs = MAX_HOLD_MS): CoalesceSends {
  /** Sockets corked in this turn. */
  const corked = new Set<Duplex>();
  let oldestAt = 0;
  let scheduled = false;
  const flushAll = (): void => {
    for (const socket of corked) socket.uncork();
    corked.clear();
  };
  const endOfTurn = (): void => {
    scheduled = false;
    flushAll();
  };

  return (ws, socket) => {
    const send = ws.send.bind(ws) as (data: unknown, ...rest: unknown[]) => void;
    const coalesced = (data: unknown, ...rest: unknown[]): void => {
      const now = performance.now();
      if (corked.size && now - oldestAt >= maxHoldMs) flushAll();
      if (!corked.has(socket) && !socket.destroyed) {
        if (!corked.size) oldestAt = now;
        corked.add(socket);
        socket.cork();
        if (!scheduled) {
          scheduled = true;
          setImmediate(endOfTurn);
        }
      }
      send(data, ...rest);
    };
    ws.send = coalesced as WebSocket['send'];
  };
}
