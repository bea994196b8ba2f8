import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { redactWallets } from '../../telemetry/attributes.js';
import type { Db, Queryable } from './db.js';

const MAX_STATEMENT = 300;

function operationOf(text: string): string {
  return /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
}

/**
 * A CLIENT span per query and per transaction (its queries nest under it). Statements are
 * parameterised, so the text carries no values; it is still truncated and wallet-redacted.
 */
export function traceDb(db: Db, tracer: Tracer): Db {
  const system = db.kind === 'pglite' ? 'pglite' : 'postgresql';
  function span<T>(name: string, attributes: Record<string, string>, fn: () => Promise<T>): Promise<T> {
    return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes: { 'db.system.name': system, ...attributes } }, async (s) => {
      try {
        return await fn();
      } catch (err) {
        s.setStatus({ code: SpanStatusCode.ERROR });
        s.setAttribute('error.type', err instanceof Error ? err.name : 'error');
        throw err;
      } finally {
        s.end();
      }
    });
  }
  const traceQuery = (q: Queryable): Queryable['query'] =>
    (text, params) => {
      const op = operationOf(text);
      return span(op, { 'db.operation.name': op, 'db.query.text': redactWallets(text.slice(0, MAX_STATEMENT)) }, () => q.query(text, params));
    };

  // Spread: methods added to Db later pass through untraced instead of breaking this wrapper.
  return {
    ...db,
    query: traceQuery(db),
    transaction: (fn) => span('TRANSACTION', { 'db.operation.name': 'TRANSACTION' }, () => db.transaction((tx) => fn({ query: traceQuery(tx) }))),
  };
}
