import { context, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { DixieMetrics } from './metrics.js';

const MAX_OPERATION_NAMES = 200;

export interface Operation {
  name: string;
  type: string;
}

function errorsOf(result: unknown): ExecutionResult['errors'] {
  if (!result || typeof result !== 'object' || Symbol.asyncIterator in result) return undefined;
  return (result as ExecutionResult).errors;
}

export interface OperationTelemetry {
  operationOf(document: DocumentNode, operationName?: string | null): Operation;
  /** Runs `fn` as the active operation span; records outcome and latency when it settles. */
  traced<T>(op: Operation, fn: () => Promise<T> | T): Promise<T>;
  /** Counts one open subscription; the returned function uncounts it (idempotent). */
  subscriptionOpened(): () => void;
}

/**
 * One span and one latency sample per GraphQL operation (never per resolver). Execution runs inside
 * the operation span, so the Finn and database spans of its resolvers nest under it. For a
 * subscription the span covers setting up the stream (subscriptions.ts); the stream itself is
 * counted as active.
 */
export function createOperationTelemetry(deps: { tracer: Tracer; metrics: DixieMetrics }): OperationTelemetry {
  const { tracer, metrics } = deps;
  // Operation names come from clients: bound the label set so that no client can explode it.
  const seen = new Set<string>();
  const label = (name: string): string => {
    if (!seen.has(name) && seen.size >= MAX_OPERATION_NAMES) return 'other';
    seen.add(name);
    return name;
  };

  return {
    operationOf(document, operationName) {
      const op = getOperationAST(document, operationName);
      return { name: label(op?.name?.value ?? 'anonymous'), type: op?.operation ?? 'unknown' };
    },
    async traced(op, fn) {
      const started = performance.now();
      const span = tracer.startSpan(`${op.type} ${op.name}`, {
        attributes: { 'graphql.operation.name': op.name, 'graphql.operation.type': op.type },
      });
      let failed = false;
      try {
        const result = await context.with(trace.setSpan(context.active(), span), fn);
        const errors = errorsOf(result);
        if (errors?.length) {
          failed = true;
          const code = errors[0]?.extensions?.['code'];
          if (typeof code === 'string') span.setAttribute('graphql.error.code', code);
        }
        return result;
      } catch (err) {
        failed = true;
        span.recordException(err instanceof Error ? err : String(err));
        throw err;
      } finally {
        if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        const labels = { operation: op.name, type: op.type, outcome: failed ? 'error' : 'ok' };
        metrics.graphqlOperations.inc(labels);
        metrics.graphqlDuration.observe(labels, (performance.now() - started) / 1000);
      }
    },
    subscriptionOpened() {
      metrics.activeSubscriptions.inc();
      let open = true;
      return () => {
        if (!open) return;
        open = false;
        metrics.activeSubscriptions.dec();
      };
    },
  };
}

/** Queries and mutations; subscriptions are traced by useSubscriptions with the same telemetry. */
export function useTelemetry(telemetry: OperationTelemetry): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const op = telemetry.operationOf(args.document, args.operationName);
      setExecuteFn((a) => telemetry.traced(op, () => executeFn(a)));
    },
  };
}
