import { readFileSync } from 'node:fs';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createFinn, type Finn } from '../../src/datasources/finn/index.js';
import { createLogger } from '../../src/logger.js';
import { finnRouteOf, hashWallet, redactWallets } from '../../src/telemetry/attributes.js';
import { createMetrics, type DixieMetrics } from '../../src/telemetry/metrics.js';
import { createTracing, disabledTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { createOperationTelemetry } from '../../src/telemetry/graphql-plugin.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

const WALLET = '0x52908400098527886E0F7030069857D2E4169EE7';
const logger = createLogger('error');
const configFor = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', FINN_URL: 'http://127.0.0.1:9', ...env }).config;

describe('telemetry attributes', () => {
  it('hashes wallets case-insensitively to a short sha256 prefix', () => {
    expect(hashWallet(WALLET)).toMatch(/^wallet:[0-9a-f]{12}$/);
    expect(hashWallet(WALLET)).toBe(hashWallet(WALLET.toLowerCase()));
    expect(redactWallets(`/api/identity/wallet/${WALLET}/nfts`)).toBe(`/api/identity/wallet/${hashWallet(WALLET)}/nfts`);
  });

  it('turns Finn paths into bounded route labels', () => {
    expect(finnRouteOf('/health')).toBe('/health');
    expect(finnRouteOf(`/api/identity/wallet/${WALLET}/nfts`)).toBe('/api/identity/wallet/:id/nfts');
    expect(finnRouteOf('/api/identity/oracle')).toBe('/api/identity/oracle');
    expect(finnRouteOf('/api/identity/honeyjar-7/beauvoir')).toBe('/api/identity/:id/beauvoir');
    expect(finnRouteOf('/api/sessions/sess_abc/message')).toBe('/api/sessions/:id/message');
    expect(finnRouteOf('/api/sessions')).toBe('/api/sessions');
    expect(finnRouteOf('/api/cron/register')).toBe('/api/cron/register');
    expect(finnRouteOf('/api/cron/cron-42')).toBe('/api/cron/:id');
    expect(finnRouteOf(`/api/conviction/${WALLET}/staking?x=1`)).toBe('/api/conviction/:id/staking');
  });
});

describe('metric families', () => {
  it('are exactly the dixie_* metrics docs/runbook.md lists under "Metrics"', async () => {
    const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');
    const section = runbook.split('\n## Metrics')[1]?.split('\n## ')[0] ?? '';
    const documented = [...section.matchAll(/^\| `(dixie_[a-z_]+)` \|/gm)].map((m) => m[1]);
    const registered = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('dixie_'));
    expect(documented.sort()).toEqual(registered.sort());
  });
});

describe('createTracing', () => {
  it('is a no-op without an endpoint: spans do not record and nothing is propagated', async () => {
    const tracing = await createTracing(configFor({}), logger);
    expect(tracing).toBe(disabledTracing);
    const span = tracing.tracer.startSpan('x');
    expect(span.isRecording()).toBe(false);
    const headers: Record<string, string> = {};
    tracing.propagate(headers);
    expect(headers).toEqual({});
  });
});

describe('Finn call spans and metrics', () => {
  const exporter = new InMemorySpanExporter();
  let sim: FinnSim;
  let tracing: Tracing;
  let metrics: DixieMetrics;
  let finn: Finn;

  beforeAll(async () => {
    sim = await startFinnSim();
    const config = configFor({ FINN_URL: sim.url, DIXIE_FINN_CIRCUIT_FAILURES: '1' });
    tracing = await createTracing(config, logger, { exporter });
    metrics = createMetrics();
    finn = createFinn({ config: config.finn, logger, tracer: tracing.tracer, metrics, propagate: tracing.propagate });
  });
  afterAll(async () => {
    await tracing?.shutdown();
    await sim?.close();
  });

  it('records route, status and circuit state, with the wallet hashed, and sends traceparent', async () => {
    sim.control.setStaking(WALLET, 5);
    await finn.client.staking(WALLET);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('finn GET /api/conviction/:id/staking');
    expect(span?.attributes).toMatchObject({
      'finn.route': '/api/conviction/:id/staking',
      'url.path': `/api/conviction/${hashWallet(WALLET)}/staking`,
      'http.response.status_code': 200,
      'finn.circuit_state': 'CLOSED',
    });
    expect(JSON.stringify(span?.attributes)).not.toMatch(/0x[0-9a-f]{40}/i);
    const sent = sim.control.requests.find((r) => r.route === 'staking');
    expect(sent?.headers['traceparent']).toBe(`00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`);
  });

  it('labels 5xx answers with their status and breaker refusals `circuit_open`', async () => {
    exporter.reset();
    sim.control.failWith(503, '/health');
    await expect(finn.client.health()).rejects.toThrow();
    await expect(finn.client.health()).rejects.toThrow();
    const [failed, refused] = exporter.getFinishedSpans();
    expect(failed?.attributes).toMatchObject({ 'http.response.status_code': 503, 'finn.circuit_state': 'OPEN' });
    expect(refused?.attributes).toMatchObject({ 'error.type': 'circuit_open', 'finn.circuit_state': 'OPEN' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('dixie_finn_requests_total{method="GET",route="/health",status="503"} 1');
    expect(text).toContain('dixie_finn_requests_total{method="GET",route="/health",status="circuit_open"} 1');
    expect(text).toContain('dixie_finn_requests_total{method="GET",route="/api/conviction/:id/staking",status="200"} 1');
  });

  it('labels network failures `error`', async () => {
    const config = configFor({});
    const local = createMetrics();
    const down = createFinn({ config: config.finn, logger, tracer: tracing.tracer, metrics: local });
    await expect(down.client.health()).rejects.toThrow();
    expect(await local.registry.getSingleMetricAsString('dixie_finn_requests_total')).toContain('status="error"} 1');
  });

  it('keeps metrics per instance: two registries do not clash', async () => {
    const other = createMetrics();
    other.rateLimitRejections.inc();
    expect(await other.registry.getSingleMetricAsString('dixie_rate_limit_rejections_total')).toContain(' 1');
    expect(await metrics.registry.getSingleMetricAsString('dixie_rate_limit_rejections_total')).toContain(' 0');
  });
});

describe('operation labels', () => {
  it('never carry a client-chosen name that is no GraphQL name, nor a very long one, and stay bounded in number', async () => {
    const metrics = createMetrics();
    const telemetry = createOperationTelemetry({ tracer: disabledTracing.tracer, metrics });
    // An unparsed request's operationName is whatever the client sent, of any length.
    for (let i = 0; i < 250; i++) telemetry.refused(telemetry.operationOf(null, `${'x'.repeat(100_000)}${i}`), performance.now(), 'GRAPHQL_PARSE_FAILED');
    telemetry.refused(telemetry.operationOf(null, 'bad name; drop'), performance.now(), 'GRAPHQL_PARSE_FAILED');
    telemetry.refused(telemetry.operationOf(null, `N${'a'.repeat(64)}`), performance.now(), 'GRAPHQL_PARSE_FAILED');
    telemetry.refused(telemetry.operationOf(null, 'RealOp'), performance.now(), 'GRAPHQL_PARSE_FAILED');
    const text = await metrics.registry.metrics();
    expect(text.length).toBeLessThan(100_000);
    expect(text).toContain('operation="invalid"');
    expect(text).toContain('operation="RealOp"');
    expect(text).not.toContain('xxxxxxxxxx');
  });
});
