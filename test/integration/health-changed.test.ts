import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';

const FAST = { finnProbeTtlMs: 50, infraProbeTtlMs: 50, probeTimeoutMs: 300, waitMs: 20, monitorIntervalMs: 50, reportReuseMs: 0 };

describe('healthChanged subscription', () => {
  let d: TestDixie;
  beforeAll(async () => {
    d = await startDixie({ env: { DIXIE_FINN_CIRCUIT_RECOVERY_MS: '1000', DIXIE_RATE_LIMIT_RPM: '0' }, health: FAST });
    await waitFor(async () => ((await (await fetch(`${d.url}/api/health`)).json()) as { status: string }).status === 'healthy');
  });
  afterAll(async () => d?.stop());

  it('emits over graphql-ws when the circuit opens and again when it closes, and not otherwise', async () => {
    const client = createClient({ url: d.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const events: Array<{ status: string; circuit: string }> = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<{ healthChanged: { status: string; services: { loaFinn: { circuitState: string } } } }>(
        { query: 'subscription { healthChanged { status services { loaFinn { circuitState } } } }' },
        {
          next: (r) => {
            const h = r.data?.healthChanged;
            if (h) events.push({ status: h.status, circuit: h.services.loaFinn.circuitState });
          },
          error: reject,
          complete: resolve,
        },
      );
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toEqual([]);
    d.sim.control.failWith(503);
    await waitFor(() => events.some((e) => e.circuit === 'OPEN'), { timeoutMs: 10_000, what: 'OPEN event' });
    expect(events.find((e) => e.circuit === 'OPEN')?.status).toBe('unhealthy');
    d.sim.control.failWith(null);
    await waitFor(() => events.some((e) => e.circuit === 'CLOSED' && e.status === 'healthy'), { timeoutMs: 10_000, what: 'recovery event' });
    for (let i = 1; i < events.length; i++) expect(events[i]).not.toEqual(events[i - 1]);
    await client.dispose();
    await done.catch(() => undefined);
  });

  it('is delivered over SSE too', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${d.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { healthChanged { status } }' }),
      signal: ctrl.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    d.sim.control.failWith(503);
    const deadline = Date.now() + 10_000;
    while (!text.includes('unhealthy') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(text).toContain('"healthChanged":{"status":"unhealthy"}');
    d.sim.control.failWith(null);
    ctrl.abort();
  });
});
