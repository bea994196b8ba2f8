import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { CHAT_SUBSCRIPTION, chatOverWs, wsClient, type ChatEventJson } from '../helpers/chat.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';

const owner = newWallet();
const RECOVERY_MS = 1_000;
const START = 'mutation { startChat { id } }';
const SEND = 'mutation($s: ID!, $t: String!) { sendMessage(sessionId: $s, text: $t) { text } }';

describe('the Finn circuit while HALF_OPEN (finn.md §General: one trial call)', () => {
  let dir: string;
  let d: TestDixie;
  let auth: Record<string, string>;
  const breaker = () => d.server.ds.finn.breaker;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dixie-breaker-'));
    await writeAllowlist(join(dir, 'allowlist.json'), [owner]);
    d = await startDixie({
      env: {
        DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'),
        DIXIE_FINN_CIRCUIT_FAILURES: '1',
        DIXIE_FINN_CIRCUIT_RECOVERY_MS: String(RECOVERY_MS),
        // A call queued behind the hung trial would answer once the trial times out: the test sees it as late.
        DIXIE_FINN_MESSAGE_TIMEOUT_MS: '5000',
      },
      // Nothing probes Finn in the background, so the trial is always the call the test makes.
      health: { finnProbeTtlMs: 600_000, monitorIntervalMs: 600_000 },
      knowledgeTtlMs: 600_000,
    });
    auth = await walletAuth(owner);
  });

  afterAll(async () => {
    d?.sim.control.clearFaults();
    await d?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Opens the circuit with one failed call and waits out the recovery time: the next Finn call is the trial. */
  async function openThenWaitForTrial(): Promise<void> {
    d.sim.control.failWith(500, 'sessions.create');
    expect((await d.gql(START, {}, auth)).body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_ERROR');
    d.sim.control.clearFaults();
    expect(breaker().state()).toBe('OPEN');
    await new Promise((r) => setTimeout(r, RECOVERY_MS + 50));
  }

  it('fails every other Finn-backed field fast while a hung trial is in flight; only the trial reaches Finn', async () => {
    const id = (await d.gql<{ startChat: { id: string } }>(START, {}, auth)).body.data!.startChat.id;
    await openThenWaitForTrial();
    d.sim.control.hang('sessions.message');
    const before = { requests: d.sim.control.requests.length, ws: d.sim.control.counter('ws.opened') };
    const trial = d.gql<{ sendMessage: { text: string } }>(SEND, { s: id, t: 'trial' }, auth);
    await waitFor(() => d.sim.control.requests.slice(before.requests).some((r) => r.route === 'sessions.message'), { what: 'the trial at Finn' });
    expect(breaker().state()).toBe('HALF_OPEN');

    const started = performance.now();
    for (const [op, vars] of [[START, {}], [SEND, { s: id, t: 'second' }]] as const) {
      const res = await d.gql(op, vars, auth);
      expect(res.status).toBe(503);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryAfter: expect.any(Number) });
    }
    const c = wsClient(d.wsUrl, auth);
    const chat = await chatOverWs(c, { sessionId: id, text: 'x' });
    await c.dispose();
    expect(chat.events).toEqual([{ __typename: 'ChatError', code: 'UPSTREAM_UNAVAILABLE', message: expect.any(String), recoverable: true, retryAfter: 1 }]);
    // Every answer came while the trial still hangs: none of them waited for it.
    expect(breaker().state()).toBe('HALF_OPEN');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(d.sim.control.requests.slice(before.requests).map((r) => r.route)).toEqual(['sessions.message']);
    expect(d.sim.control.counter('ws.opened')).toBe(before.ws);

    d.sim.control.hang('sessions.message', false);
    expect((await trial).body).toEqual({ data: { sendMessage: { text: expect.any(String) } } });
    expect(breaker().state()).toBe('CLOSED');
  });

  it('does not close the circuit on a trial cancelled before Finn answered (the chat subscriber left)', async () => {
    const id = (await d.gql<{ startChat: { id: string } }>(START, {}, auth)).body.data!.startChat.id;
    await openThenWaitForTrial();
    d.sim.control.hang('ws');
    const before = { requests: d.sim.control.requests.length, logs: d.logs.length };
    const c = wsClient(d.wsUrl, auth);
    const chat = c.iterate<{ chat: ChatEventJson }>({ query: CHAT_SUBSCRIPTION, variables: { sessionId: id, text: 'x' } });
    expect((await chat.next()).value).toMatchObject({ data: { chat: { __typename: 'ChatModelSelection' } } });
    await waitFor(() => d.sim.control.requests.slice(before.requests).some((r) => r.route === 'ws'), { what: 'the trial connect at Finn' });
    expect(breaker().state()).toBe('HALF_OPEN');

    await chat.return?.();
    await waitFor(() => breaker().state() !== 'HALF_OPEN', { what: 'the trial to end' });
    await c.dispose();
    expect(breaker().state()).toBe('OPEN');
    expect(d.logs.slice(before.logs)).toContainEqual(expect.objectContaining({ event: 'circuit_breaker_transition', from: 'HALF_OPEN', to: 'OPEN' }));
    expect((await d.gql(START, {}, auth)).body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });
});
