import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GraphQLError, GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { trace } from '@opentelemetry/api';
import { createYoga } from 'graphql-yoga';
import { maskError } from '../../src/graphql-plugins.js';
import { createLogger } from '../../src/logger.js';
import { requestScope } from '../../src/request-scope.js';
import { useSubscriptions } from '../../src/subscriptions.js';
import { createOperationTelemetry, useTelemetry } from '../../src/telemetry/graphql-plugin.js';
import { createMetrics } from '../../src/telemetry/metrics.js';

/** `ticks(upTo)` yields 1..upTo; `n` throws a plain Error (a bug) for 2 and a coded GraphQLError for 3. */
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString, resolve: () => 'ok' } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      ticks: {
        type: new GraphQLObjectType({
          name: 'Tick',
          fields: {
            n: {
              type: GraphQLInt,
              resolve: (n: number) => {
                if (n === 2) throw new Error('db password is hunter2');
                if (n === 3) throw new GraphQLError('not yours', { extensions: { code: 'FORBIDDEN' } });
                return n;
              },
            },
          },
        }),
        args: { upTo: { type: new GraphQLNonNull(GraphQLInt) } },
        subscribe: async function* (_root: unknown, args: { upTo: number }) {
          if (args.upTo < 0) throw new Error('set-up bug with a secret');
          for (let n = 1; n <= args.upTo; n++) yield n;
        },
        resolve: (n: unknown) => n,
      },
    },
  }),
});

function setup(viewer: { kind: string; tokenExpiresAt?: number } = { kind: 'anonymous' }) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger('info', sink);
  const metrics = createMetrics();
  const telemetry = createOperationTelemetry({ tracer: trace.getTracer('test'), metrics });
  const masking = maskError(logger);
  const yoga = createYoga({
    schema,
    logging: false,
    maskedErrors: { maskError: masking },
    context: () => ({ viewer }),
    plugins: [useTelemetry(telemetry), useSubscriptions({ telemetry, maskError: masking })],
  });
  /** With `requestId`, the stream is opened inside that request's scope and read outside it (as graphql-ws does). */
  const sse = async (query: string, variables?: Record<string, unknown>, requestId?: string): Promise<unknown[]> => {
    const open = () =>
      yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query, variables }),
      });
    const res = await (requestId ? requestScope.run({ requestId }, open) : open());
    const text = await res.text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('data: ') && l.length > 6)
      .map((l) => JSON.parse(l.slice(6)) as unknown);
  };
  const active = async () => (await metrics.registry.getSingleMetric('dixie_graphql_subscriptions_active')?.get())?.values[0]?.value;
  return { sse, lines, active };
}

describe('useSubscriptions', () => {
  it('executes every event with the field arguments from variables, masks a bug, keeps a coded error, and uncounts the stream', async () => {
    const t = setup();
    const events = await t.sse('subscription S($k: Int!) { ticks(upTo: $k) { n } }', { k: 4 });
    expect(events[0]).toEqual({ data: { ticks: { n: 1 } } });
    expect(events[1]).toMatchObject({ data: { ticks: { n: null } }, errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    expect(events[2]).toMatchObject({ errors: [{ message: 'not yours', extensions: { code: 'FORBIDDEN' } }] });
    expect(events[3]).toEqual({ data: { ticks: { n: 4 } } });
    expect(events).toHaveLength(4);
    expect(JSON.stringify(events)).not.toContain('hunter2');
    const logged = t.lines.filter((l) => l['event'] === 'unexpected_error');
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged[0])).toContain('hunter2');
    expect(await t.active()).toBe(0);
  });

  it('logs a masked event with the request id the stream was opened under, though its events are pulled outside that scope', async () => {
    const t = setup();
    await t.sse('subscription { ticks(upTo: 2) { n } }', undefined, 'req-sub-1');
    expect(t.lines.filter((l) => l['event'] === 'unexpected_error')).toEqual([expect.objectContaining({ request_id: 'req-sub-1' })]);
  });

  it('masks a set-up failure and counts no stream', async () => {
    const t = setup();
    const events = await t.sse('subscription { ticks(upTo: -1) { n } }');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    expect(JSON.stringify(events)).not.toContain('secret');
    expect(await t.active()).toBe(0);
  });

  it("ends a wallet's stream with UNAUTHENTICATED once its token has expired", async () => {
    const t = setup({ kind: 'wallet', tokenExpiresAt: Date.now() - 1 });
    const events = await t.sse('subscription { ticks(upTo: 1000) { n } }');
    expect(events.length).toBeLessThanOrEqual(2);
    expect(events.at(-1)).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(await t.active()).toBe(0);
  });
});
