import type { WebSocket } from 'ws';

const GOING_AWAY = 1001;

/**
 * Queries and mutations in flight per WebSocket, so that the shutdown answers them before the 1001
 * close: a mutation cut mid-way (createSchedule: PENDING row, Finn cron, activation) would leave its
 * work half done while the stores close under it. Subscriptions are long-lived and not counted.
 */
export interface WsDrain {
  /** An operation arrives on `socket` (counted while it is prepared); false once draining: refuse it. */
  begin(socket: WebSocket): boolean;
  /** That operation was answered, refused, or turned out to be a subscription. */
  end(socket: WebSocket): void;
  /**
   * Refuses new operations, closes each of `sockets` with 1001 once nothing is in flight on it, and
   * resolves when every socket with operations in flight has been closed.
   */
  drain(sockets: Iterable<WebSocket>): Promise<void>;
}

export function createWsDrain(): WsDrain {
  const inFlight = new Map<WebSocket, number>();
  let drained: Promise<void> | null = null;
  let resolveDrained = (): void => undefined;
  // graphql-ws sends `complete` right after onComplete: closing on the next turn lets it leave first.
  const closeLater = (socket: WebSocket) =>
    setImmediate(() => {
      socket.close(GOING_AWAY, 'Going away');
      if (inFlight.size === 0) resolveDrained();
    });
  return {
    begin(socket) {
      if (drained) return false;
      inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
      return true;
    },
    end(socket) {
      const n = (inFlight.get(socket) ?? 1) - 1;
      if (n > 0) return void inFlight.set(socket, n);
      inFlight.delete(socket);
      if (drained) closeLater(socket);
    },
    drain(sockets) {
      drained ??= new Promise<void>((resolve) => {
        resolveDrained = resolve;
        for (const socket of sockets) if (!inFlight.has(socket)) socket.close(GOING_AWAY, 'Going away');
        if (inFlight.size === 0) resolve();
      });
      return drained;
    },
  };
}
