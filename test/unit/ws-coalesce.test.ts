import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createSendCoalescer, type CoalesceSends } from '../../src/ws-coalesce.js';

interface Pair {
  server: WebSocket;
  client: WebSocket;
  /** Socket-level writes (`_write` or `_writev` calls) the server side has made since the upgrade. */
  writes(): number;
  received: string[];
  closed: Promise<number>;
}

const servers: Server[] = [];
const clients: WebSocket[] = [];

afterEach(async () => {
  // Clients first: a server does not finish closing while a connection is open (a failed test leaves one).
  for (const c of clients.splice(0)) c.terminate();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/**
 * Turns that hold messages as long as the test needs, whatever the machine's load: the tests of one
 * write per turn must not see a flush because a loaded machine made their loop take over 1 ms.
 */
const untilTurnEnds = createSendCoalescer(Number.POSITIVE_INFINITY);

/** A real loopback WebSocket pair; the server side goes through a coalescer as in src/ws.ts. */
async function pair(coalesceSends: CoalesceSends = untilTurnEnds): Promise<Pair> {
  const wss = new WebSocketServer({ noServer: true });
  let writes = 0;
  const http = createServer();
  servers.push(http);
  const server = new Promise<WebSocket>((resolve) => {
    http.on('upgrade', (req, socket, head) => {
      const s = socket as Socket & { _write: Socket['_write']; _writev?: Socket['_writev'] };
      const write = s._write.bind(s);
      s._write = (...args) => {
        writes += 1;
        write(...args);
      };
      const writev = s._writev?.bind(s);
      if (writev) {
        s._writev = (...args) => {
          writes += 1;
          writev(...args);
        };
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        coalesceSends(ws, socket);
        writes = 0;
        resolve(ws);
      });
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
  clients.push(client);
  const received: string[] = [];
  client.on('message', (m) => received.push(String(m)));
  const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
  await new Promise<void>((r, j) => {
    client.once('open', () => r());
    client.once('error', j);
  });
  return { server: await server, client, writes: () => writes, received, closed };
}

/** Keeps the event loop busy, as a burst of upstream events does, for `ms`. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('createSendCoalescer', () => {
  it('sends the messages of one turn in one socket write, in order', async () => {
    const p = await pair();
    for (let i = 0; i < 20; i++) p.server.send(`m${i}`);
    expect(p.writes()).toBe(0);
    await nextTurn();
    expect(p.writes()).toBe(1);
    await until(() => p.received.length === 20);
    expect(p.received).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    p.client.close();
    await p.closed;
  });

  it('flushes each turn on its own: a lone message is not held beyond its turn', async () => {
    const p = await pair();
    p.server.send('a');
    await nextTurn();
    p.server.send('b');
    p.server.send('c');
    await nextTurn();
    expect(p.writes()).toBe(2);
    await until(() => p.received.length === 3);
    expect(p.received).toEqual(['a', 'b', 'c']);
    p.client.close();
    await p.closed;
  });

  it('flushes every corked socket inside a long turn once the oldest message has waited maxHoldMs', async () => {
    const holdMs = 20;
    const coalesce = createSendCoalescer(holdMs);
    const p = await pair(coalesce);
    const q = await pair(coalesce);
    p.server.send('p1');
    q.server.send('q1');
    busy(holdMs + 5);
    // Any send after the hold flushes both sockets' waiting messages before it is queued.
    q.server.send('q2');
    expect(p.writes()).toBe(1);
    expect(q.writes()).toBe(1);
    // p is corked again by its next send; it has nothing older waiting, so nothing is written yet.
    p.server.send('p2');
    expect(p.writes()).toBe(1);
    await nextTurn();
    expect(p.writes()).toBe(2);
    expect(q.writes()).toBe(2);
    await until(() => p.received.length === 2 && q.received.length === 2);
    expect(p.received).toEqual(['p1', 'p2']);
    expect(q.received).toEqual(['q1', 'q2']);
    for (const x of [p, q]) x.client.close();
    await Promise.all([p.closed, q.closed]);
  });

  it('calls send callbacks and delivers a close frame queued behind messages', async () => {
    const p = await pair();
    const acked: string[] = [];
    p.server.send('x', (err) => acked.push(err ? 'error' : 'x'));
    p.server.send('y', (err) => acked.push(err ? 'error' : 'y'));
    p.server.close(1001, 'going away');
    expect(await p.closed).toBe(1001);
    expect(p.received).toEqual(['x', 'y']);
    expect(acked).toEqual(['x', 'y']);
  });

  it('ignores sends after the socket is gone instead of throwing', async () => {
    const p = await pair();
    p.client.terminate();
    await until(() => p.server.readyState === WebSocket.CLOSED);
    const errors: unknown[] = [];
    expect(() => p.server.send('late', (err) => errors.push(err))).not.toThrow();
    await nextTurn();
    expect(errors).toHaveLength(1);
  });
});
