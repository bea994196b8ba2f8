import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDb, type Db } from '../../src/datasources/postgres/index.js';
import { traceDb } from '../../src/datasources/postgres/traced-db.js';
import { createTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { captureLogger, waitFor } from '../helpers/dixie.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

describe('PostgreSQL telemetry (real PostgreSQL)', () => {
  const tag = uniqueTag('pgtel');
  const exporter = new InMemorySpanExporter();
  const { logs, logger } = captureLogger('info');
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let proxy: TcpProxy;
  let raw: Db;
  let db: Db;
  let tracing: Tracing;

  beforeAll(async () => {
    schema = await createTestSchema(tag);
    proxy = await startTcpProxy('127.0.0.1', 5432);
    raw = await createDb({ url: schema.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`), poolSize: 2, logger });
    tracing = await createTracing(loadConfig({ NODE_ENV: 'test', FINN_URL: 'http://127.0.0.1:9' }).config, logger, { exporter });
    db = traceDb(raw, tracing.tracer);
  });
  afterAll(async () => {
    await raw?.close();
    await tracing?.shutdown();
    await proxy?.close();
    await schema?.drop();
  });

  it('spans every query, with transaction queries nested under the transaction', async () => {
    await db.query('CREATE TABLE t (id int PRIMARY KEY, wallet text)');
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES ($1, $2)', [1, '0x52908400098527886E0F7030069857D2E4169EE7']);
      await tx.query('SELECT * FROM t WHERE id = $1', [1]);
    });
    await expect(db.query('SELECT * FROM missing_table')).rejects.toThrow();

    const spans = exporter.getFinishedSpans();
    const tx = spans.find((s) => s.name === 'TRANSACTION');
    const inTx = spans.filter((s) => s.parentSpanContext?.spanId === tx?.spanContext().spanId).map((s) => s.name);
    expect(inTx).toEqual(['INSERT', 'SELECT']);
    expect(spans.find((s) => s.name === 'CREATE')?.attributes).toMatchObject({ 'db.system.name': 'postgresql', 'db.operation.name': 'CREATE' });
    const failed = spans.at(-1);
    expect(failed?.attributes['db.query.text']).toBe('SELECT * FROM missing_table');
    expect(failed?.status.code).toBe(2);
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain('0x5290');
  });

  it('logs dependency_unreachable once per outage and dependency_recovered, driven by the ping', async () => {
    expect(await raw.ping(1_000)).toBeGreaterThanOrEqual(0);
    proxy.setMode('refuse');
    await expect(raw.ping(1_000)).rejects.toThrow();
    await expect(raw.ping(1_000)).rejects.toThrow();
    const down = logs.filter((l) => l.event === 'dependency_unreachable' && l['dependency'] === 'postgresql');
    expect(down).toHaveLength(1);
    expect(down[0]?.level).toBe('warn');
    proxy.setMode('pass');
    await waitFor(() => raw.ping(1_000).then(() => true, () => false), { what: 'ping after recovery' });
    expect(logs.filter((l) => l.event === 'dependency_recovered' && l['dependency'] === 'postgresql')).toHaveLength(1);
  });
});
