import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { createWsDrain } from '../../src/ws-drain.js';

/** A socket that records its close codes. */
function fakeSocket(): WebSocket & { closes: number[] } {
  const closes: number[] = [];
  return { closes, close: (code: number) => closes.push(code) } as unknown as WebSocket & { closes: number[] };
}

describe('createWsDrain', () => {
  it('closes idle sockets at once and a busy one only after its last operation, then resolves', async () => {
    const drain = createWsDrain();
    const [idle, busy] = [fakeSocket(), fakeSocket()];
    expect(drain.begin(busy)).toBe(true);
    expect(drain.begin(busy)).toBe(true);
    let drained = false;
    void drain.drain([idle, busy]).then(() => (drained = true));
    expect(idle.closes).toEqual([1001]);
    expect(busy.closes).toEqual([]);

    drain.end(busy);
    await nextTurn();
    expect(busy.closes).toEqual([]);
    expect(drained).toBe(false);

    drain.end(busy);
    // On the next turn, so graphql-ws's `complete`, sent right after onComplete, leaves before the close.
    expect(busy.closes).toEqual([]);
    await nextTurn();
    expect(busy.closes).toEqual([1001]);
    await Promise.resolve();
    expect(drained).toBe(true);
  });

  it('refuses operations once draining', async () => {
    const drain = createWsDrain();
    const socket = fakeSocket();
    await drain.drain([socket]);
    expect(socket.closes).toEqual([1001]);
    expect(drain.begin(socket)).toBe(false);
  });
});
