import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createFinn, type Finn } from '../../src/datasources/finn/index.js';
import { createChatStreamManager, type ChatStreamManager, type ChatStreamOptions } from '../../src/datasources/finn/stream-manager.js';
import type { ChatEvent } from '../../src/domain/chat-events.js';
import { createLogger } from '../../src/logger.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';
import { waitFor } from '../helpers/dixie.js';

let sim: FinnSim;
const managers: ChatStreamManager[] = [];
const logger = createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));

beforeAll(async () => {
  sim = await startFinnSim();
});

afterEach(async () => {
  for (const m of managers.splice(0)) m.close();
  await sim.control.waitForOpenSockets(0);
  sim.control.reset();
});

afterAll(async () => {
  await sim.close();
});

function setup(env: Record<string, string> = {}, options: Partial<ChatStreamOptions> = {}): { finn: Finn; m: ChatStreamManager } {
  const { config } = loadConfig({ NODE_ENV: 'test', FINN_URL: sim.url, ...env });
  const finn = createFinn({ config: config.finn, logger });
  const m = createChatStreamManager({ finn, logger, options });
  managers.push(m);
  return { finn, m };
}

const turn = (sessionId: string, text = 'hi') => ({
  sessionId, text, wallet: '0xabc', nftId: null, pool: 'pool_observer', reason: 'test', requestId: 'r1', clientIp: '10.0.0.9',
});

async function drain(it: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const idle = (m: ChatStreamManager) => waitFor(() => m.activeStreams() === 0 && m.activeSubscribers() === 0 && m.liveStreams() === 0, { what: 'idle manager' });

describe('chat stream manager against the Finn simulator', () => {
  it('ends a subscriber that does not keep up with SLOW_CONSUMER, releasing the Finn socket', async () => {
    const { finn, m } = setup({}, { queueCapacity: 3 });
    const { sessionId } = await finn.client.createSession({});
    sim.control.setStream({ deltas: 30, delayMs: 2 });
    const closed = sim.control.waitForSocketClose(3_000, (l) => l.sessionId === sessionId);
    const it = m.subscribe(turn(sessionId));
    await closed;
    const events = await drain(it);
    expect(events.map((e) => e.type)).toEqual(['model_selection', 'text_delta', 'text_delta', 'error']);
    expect(events.at(-1)).toMatchObject({ code: 'SLOW_CONSUMER' });
    await idle(m);
  });

  it('counts failed connects against the breaker, then fails fast without connecting', async () => {
    const { finn, m } = setup({ DIXIE_FINN_CIRCUIT_FAILURES: '2', DIXIE_FINN_CIRCUIT_RECOVERY_MS: '1000' });
    const { sessionId } = await finn.client.createSession({});
    sim.control.refuseConnections(true);
    for (let i = 0; i < 2; i++) expect((await drain(m.subscribe(turn(sessionId)))).at(-1)).toMatchObject({ type: 'error', code: 'UPSTREAM_UNAVAILABLE' });
    expect(finn.breaker.state()).toBe('OPEN');
    const refused = sim.control.counter('fault.refused');
    const events = await drain(m.subscribe(turn(sessionId)));
    expect(events).toEqual([{ type: 'error', code: 'UPSTREAM_UNAVAILABLE', message: expect.any(String), recoverable: true, retryAfter: 1 }]);
    expect(sim.control.counter('fault.refused')).toBe(refused);
    await idle(m);
    // After the recovery time the next chat is the half-open trial, and its success closes the circuit.
    sim.control.refuseConnections(false);
    await new Promise((r) => setTimeout(r, 1_050));
    expect((await drain(m.subscribe(turn(sessionId)))).at(-1)).toMatchObject({ type: 'agent_end' });
    expect(finn.breaker.state()).toBe('CLOSED');
  });

  it('does not count a 4xx upgrade answer as a Finn failure', async () => {
    const { finn, m } = setup({ DIXIE_FINN_CIRCUIT_FAILURES: '2' });
    const { sessionId } = await finn.client.createSession({});
    sim.control.failWith(404, 'ws');
    for (let i = 0; i < 3; i++) expect((await drain(m.subscribe(turn(sessionId)))).at(-1)).toMatchObject({ code: 'NOT_FOUND' });
    expect(finn.breaker.state()).toBe('CLOSED');
  });

  it('maps an unknown session (error frame, close 4004) to one error', async () => {
    const { m } = setup();
    const events = await drain(m.subscribe(turn('no-such-session')));
    expect(events.map((e) => e.type)).toEqual(['model_selection', 'error']);
    await idle(m);
  });

  it('sends the Finn token on the WebSocket URL and the end-user IP', async () => {
    sim.control.setToken('finn-secret');
    const { finn, m } = setup({ FINN_AUTH_TOKEN: 'finn-secret' });
    const { sessionId } = await finn.client.createSession({});
    const events = await drain(m.subscribe(turn(sessionId, 'with token')));
    expect(events.at(-1)).toMatchObject({ type: 'agent_end' });
    const log = sim.control.wsConnections.find((c) => c.sessionId === sessionId)!;
    expect(log.url).toContain('token=finn-secret');
    expect(log.headers['x-forwarded-for']).toBe('10.0.0.9');
    expect(log.received).toContainEqual({ type: 'prompt', text: 'with token' });
  });

  it('aborts a running turn and moves the next subscriber to a fresh socket when the first leaves', async () => {
    const { finn, m } = setup();
    const { sessionId } = await finn.client.createSession({});
    sim.control.setStream({ deltas: 50, delayMs: 20 });
    const first = m.subscribe(turn(sessionId, 'first'));
    const second = m.subscribe(turn(sessionId, 'second'));
    expect(m.activeSubscribers()).toBe(2);
    expect((await first.next()).value).toMatchObject({ type: 'model_selection' });
    expect((await first.next()).value).toMatchObject({ type: 'text_delta' });
    await first.return!();
    sim.control.setStream({ deltas: 2, delayMs: 5 });
    const events = await drain(second);
    expect(events.filter((e) => e.type === 'text_delta').map((e) => (e as { delta: string }).delta).join('')).toBe('Echo: second');
    const socketsOfSession = sim.control.wsConnections.filter((c) => c.sessionId === sessionId);
    expect(socketsOfSession).toHaveLength(2);
    expect(socketsOfSession[0]!.received).toContainEqual({ type: 'abort' });
    await idle(m);
  });

  it('ends every subscriber on shutdown', async () => {
    const { finn, m } = setup();
    const { sessionId } = await finn.client.createSession({});
    sim.control.setStream({ deltas: 50, delayMs: 50 });
    const it = m.subscribe(turn(sessionId));
    await sim.control.waitForSocketOpen(2_000, (l) => l.sessionId === sessionId);
    m.close();
    expect((await drain(it)).at(-1)).toMatchObject({ type: 'error', code: 'UPSTREAM_UNAVAILABLE' });
    await idle(m);
  });
});
