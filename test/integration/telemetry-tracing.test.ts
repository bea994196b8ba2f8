import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { chatOverSse } from '../helpers/chat.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';

// Every health read calls Finn within the request and waits for it (no probe or report caching).
const FRESH_HEALTH = { finnProbeTtlMs: 0, reportReuseMs: 0, waitMs: 3_000, monitorIntervalMs: 600_000 };

const byName = (spans: ReadableSpan[], name: string) => spans.find((s) => s.name === name);

describe('tracing: request → operation → Finn call in one trace', () => {
  const exporter = new InMemorySpanExporter();
  let d: TestDixie;

  beforeAll(async () => {
    d = await startDixie({ traceExporter: exporter, health: FRESH_HEALTH });
    await d.server.ds.health.report(); // the startup probe has settled: the next read calls Finn itself
  });
  afterAll(async () => {
    await d?.stop();
  });
  beforeEach(() => exporter.reset());

  it('continues an incoming traceparent and propagates it to Finn', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const res = await d.gql('query HealthCheck { health { status } }', undefined, { traceparent: `00-${traceId}-${parentId}-01` });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ health: { status: 'healthy' } });

    const spans = await waitFor(() => {
      const all = exporter.getFinishedSpans();
      return byName(all, 'POST /graphql') ? all : null;
    });
    const http = byName(spans, 'POST /graphql');
    const op = byName(spans, 'query HealthCheck');
    const finn = spans.find((s) => s.name === 'finn GET /health' && s.spanContext().traceId === traceId);
    expect(http && op && finn).toBeTruthy();
    if (!http || !op || !finn) return;

    for (const s of [http, op, finn]) expect(s.spanContext().traceId).toBe(traceId);
    expect(http.kind).toBe(SpanKind.SERVER);
    expect(http.parentSpanContext?.spanId).toBe(parentId);
    expect(http.attributes).toMatchObject({ 'http.route': '/graphql', 'http.request.method': 'POST', 'http.response.status_code': 200 });
    expect(http.attributes['dixie.request_id']).toBe(res.headers.get('x-request-id'));
    expect(op.parentSpanContext?.spanId).toBe(http.spanContext().spanId);
    expect(op.attributes).toMatchObject({ 'graphql.operation.name': 'HealthCheck', 'graphql.operation.type': 'query' });
    expect(finn.parentSpanContext?.spanId).toBe(op.spanContext().spanId);
    expect(finn.kind).toBe(SpanKind.CLIENT);
    expect(finn.attributes).toMatchObject({ 'finn.route': '/health', 'http.response.status_code': 200, 'finn.circuit_state': 'CLOSED' });
    // No span per resolver: only the three layers (plus other Finn calls the health read makes).
    expect(spans.filter((s) => s.name.startsWith('query ') || s.name.includes('health.status'))).toHaveLength(1);

    const seen = d.sim.control.requests.filter((r) => r.path === '/health').map((r) => r.headers['traceparent']);
    expect(seen).toContain(`00-${traceId}-${finn.spanContext().spanId}-01`);
  });

  it('starts a new trace without traceparent and marks failed operations', async () => {
    const res = await d.gql('query Gov { governance { timestamp } }');
    expect(res.body.errors?.[0]?.extensions?.['code']).toBeDefined();
    const spans = await waitFor(() => {
      const all = exporter.getFinishedSpans();
      return byName(all, 'POST /graphql') ? all : null;
    });
    const http = byName(spans, 'POST /graphql');
    const op = byName(spans, 'query Gov');
    expect(http?.parentSpanContext).toBeUndefined();
    expect(op?.spanContext().traceId).toBe(http?.spanContext().traceId);
    expect(op?.status.code).toBe(2);
    expect(op?.attributes['graphql.error.code']).toBe(res.body.errors?.[0]?.extensions?.['code']);
  });

  it('gives an operation refused at parse or validation a failed span under its request, with the error code', async () => {
    const refused = [
      { query: 'query Broken { health {', name: 'Broken', span: 'unknown Broken', code: 'GRAPHQL_PARSE_FAILED' },
      { query: 'query Unknown { nope }', name: 'Unknown', span: 'query Unknown', code: 'GRAPHQL_VALIDATION_FAILED' },
      { query: `query Huge { ${'health { status } '.repeat(700)} }`, name: 'Huge', span: 'unknown Huge', code: 'QUERY_TOO_COMPLEX' },
    ];
    for (const r of refused) {
      exporter.reset();
      const res = await fetch(`${d.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: r.query, operationName: r.name }),
      });
      const body = (await res.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
      expect(body.errors?.[0]?.extensions?.code, r.name).toBe(r.code);
      const spans = await waitFor(() => {
        const all = exporter.getFinishedSpans();
        return byName(all, 'POST /graphql') ? all : null;
      });
      const op = byName(spans, r.span);
      expect(op, r.name).toBeDefined();
      expect(op?.status.code).toBe(2);
      expect(op?.attributes['graphql.error.code']).toBe(r.code);
      expect(op?.parentSpanContext?.spanId).toBe(byName(spans, 'POST /graphql')?.spanContext().spanId);
    }
  });

  it('traces REST requests with the route template', async () => {
    await fetch(`${d.url}/api/health`);
    const http = await waitFor(() => byName(exporter.getFinishedSpans(), 'GET /api/health'));
    expect(http.attributes).toMatchObject({ 'http.route': '/api/health', 'http.response.status_code': 200 });
    await fetch(`${d.url}/api/nope/0x52908400098527886E0F7030069857D2E4169EE7`);
    const unmatched = await waitFor(() => byName(exporter.getFinishedSpans(), 'GET unmatched'));
    expect(JSON.stringify(unmatched.attributes)).not.toContain('0x');
  });
});

describe('tracing: the Finn chat stream', () => {
  it('carries traceparent on the WebSocket upgrade, in the trace of the subscription that opened it', async () => {
    const exporter = new InMemorySpanExporter();
    const dir = await mkdtemp(join(tmpdir(), 'dixie-trace-'));
    const wallet = newWallet();
    await writeAllowlist(join(dir, 'allowlist.json'), [wallet]);
    const d = await startDixie({ traceExporter: exporter, env: { DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json') } });
    try {
      const auth = await walletAuth(wallet);
      const started = await d.gql<{ startChat: { id: string } }>('mutation { startChat { id } }', {}, auth);
      const sessionId = started.body.data!.startChat.id;
      const traceId = randomBytes(16).toString('hex');
      const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
      const res = await chatOverSse(`${d.url}/graphql`, { ...auth, traceparent }, { sessionId, text: 'traced' });
      expect(res.errors).toEqual([]);
      expect(res.events.at(-1)?.__typename).toBe('ChatAgentEnd');

      const op = await waitFor(() => exporter.getFinishedSpans().find((s) => s.name === 'subscription Chat' && s.spanContext().traceId === traceId));
      const upgrade = d.sim.control.wsConnections.find((c) => c.sessionId === sessionId);
      expect(upgrade?.headers).toMatchObject({ 'x-request-id': expect.any(String), traceparent: `00-${traceId}-${op.spanContext().spanId}-01` });
    } finally {
      await d.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('tracing off (no OTLP endpoint): the caller’s traceparent still reaches Finn', () => {
  it('passes it on unchanged to Finn calls and the chat stream upgrade, and drops a malformed one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dixie-trace-off-'));
    const wallet = newWallet();
    await writeAllowlist(join(dir, 'allowlist.json'), [wallet]);
    const d = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json') } });
    try {
      expect(d.server.tracing.enabled).toBe(false);
      const auth = await walletAuth(wallet);
      const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
      const started = await d.gql<{ startChat: { id: string } }>('mutation { startChat { id } }', {}, { ...auth, traceparent });
      const sessionId = started.body.data!.startChat.id;
      const create = d.sim.control.requests.filter((r) => r.route === 'sessions.create').at(-1);
      expect(create?.headers['traceparent']).toBe(traceparent);

      const res = await chatOverSse(`${d.url}/graphql`, { ...auth, traceparent }, { sessionId, text: 'traced' });
      expect(res.events.at(-1)?.__typename).toBe('ChatAgentEnd');
      expect(d.sim.control.wsConnections.find((c) => c.sessionId === sessionId)?.headers['traceparent']).toBe(traceparent);

      await d.gql('mutation { startChat { id } }', {}, { ...auth, traceparent: '00-not-a-trace-01' });
      expect(d.sim.control.requests.filter((r) => r.route === 'sessions.create').at(-1)?.headers).not.toHaveProperty('traceparent');
    } finally {
      await d.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
