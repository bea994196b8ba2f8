import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

// Every health read calls Finn within the request and waits for it (no probe or report caching).
const FRESH_HEALTH = { finnProbeTtlMs: 0, reportReuseMs: 0, waitMs: 3_000, monitorIntervalMs: 600_000 };

describe('OTLP gRPC export (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  let receiver: OtlpReceiver;
  let d: TestDixie;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    d = await startDixie({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      health: FRESH_HEALTH,
    });
    await d.server.ds.health.report(); // the startup probe has settled: the next read calls Finn itself
  });
  afterAll(async () => {
    await d?.stop();
    await receiver?.close();
  });

  it('exports the request, operation and Finn spans of one trace to a gRPC collector', async () => {
    expect(d.server.tracing.enabled).toBe(true);
    expect(d.logs).toContainEqual(expect.objectContaining({ event: 'tracing_enabled' }));
    const res = await d.gql('query Exported { health { status } }');
    expect(res.status).toBe(200);
    await waitFor(() => d.sim.control.requests.filter((r) => r.path === '/health').length >= 2, { what: 'Finn call' });
    // Stopping flushes the batch processor: everything ended so far reaches the collector.
    await d.stop();

    const http = receiver.spans.find((s) => s.name === 'POST /graphql');
    expect(http).toBeDefined();
    const trace = receiver.spans.filter((s) => s.traceId === http?.traceId);
    const op = trace.find((s) => s.name === 'query Exported');
    const finn = trace.find((s) => s.name === 'finn GET /health');
    expect(op?.parentSpanId).toBe(http?.spanId);
    expect(finn?.parentSpanId).toBe(op?.spanId);
    expect(http?.resource['service.name']).toBe('dixie');
    expect(http?.resource['service.version']).toBe(d.config.version);
    const sent = d.sim.control.requests.map((r) => r.headers['traceparent']);
    expect(sent).toContain(`00-${http?.traceId}-${finn?.spanId}-01`);
  });
});

describe('OTLP endpoint with credentials', () => {
  it('logs the endpoint with its password redacted (config.md: secrets never appear in logs)', async () => {
    const receiver = await startOtlpReceiver();
    const endpoint = receiver.url.replace('://', '://tempo:otlp-s3cret@');
    const d = await startDixie({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
    try {
      expect(d.logs).toContainEqual(expect.objectContaining({ event: 'tracing_enabled', endpoint: receiver.url.replace('://', '://tempo:***@') }));
    } finally {
      await d.stop();
      await receiver.close();
    }
    expect(JSON.stringify(d.logs)).not.toContain('otlp-s3cret');
  });
});

describe('OTLP export to an unreachable collector', () => {
  it('never fails requests and does not hold up shutdown', async () => {
    const receiver = await startOtlpReceiver();
    const url = receiver.url;
    await receiver.close(); // nothing listens there any more
    const d = await startDixie({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: url } });
    expect((await d.gql('query Ok { health { status } }')).status).toBe(200);
    await d.stop();
  });
});
