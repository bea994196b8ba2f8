import { context, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
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
  /** Without a document (it did not parse), the name the client asked for and type `unknown`. */
  operationOf(document: DocumentNode | null, operationName?: string | null): Operation;
  /** Runs `fn` as the active operation span; records outcome and latency when it settles. */
  traced<T>(op: Operation, fn: () => Promise<T> | T): Promise<T>;
  /** An operation refused before execution (parse, validation): a failed span and sample from `started` (performance.now()). */
  refused(op: Operation, started: number, code: string): void;
  /** Counts one open subscription; the returned function uncounts it (idempotent). */
  subscriptionOpened(): () => void;
}

/**
 * One span and one latency sample per GraphQL operation (never per resolver). Execution runs inside
 * the operation span, so the Finn and database spans of its resolvers nest under it. For a
 * subscription the span covers setting up the stream (subscriptions.ts); the stream itself is
 * counted as active. An operation refused at parse or validation never executes: it gets its span
 * and sample from `refused`.
 */
/** A GraphQL name of at most 64 characters: what an operation label may be. */
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;

export function createOperationTelemetry(deps: { tracer: Tracer; metrics: DixieMetrics }): OperationTelemetry {
  const { tracer, metrics } = deps;
  // Operation names come from clients: bound the label set so that no client can explode it.
  const seen = new Set<string>();
  const label = (name: string): string => {
    // A name the document could not hold (an unparsed request's operationName can be anything, of
    // any length) or a very long one would make every label and span carry it: one fixed label.
    if (!OPERATION_NAME.test(name)) return 'invalid';
    if (!seen.has(name) && seen.size >= MAX_OPERATION_NAMES) return 'other';
    seen.add(name);
    return name;
  };
  const startSpan = (op: Operation, startTime?: number): Span =>
    tracer.startSpan(`${op.type} ${op.name}`, {
      attributes: { 'graphql.operation.name': op.name, 'graphql.operation.type': op.type },
      startTime,
    });
  const finish = (op: Operation, span: Span, started: number, failed: boolean): void => {
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    const labels = { operation: op.name, type: op.type, outcome: failed ? 'error' : 'ok' };
    metrics.graphqlOperations.inc(labels);
    metrics.graphqlDuration.observe(labels, (performance.now() - started) / 1000);
  };

  return {
    operationOf(document, operationName) {
      if (!document) return { name: label(operationName || 'anonymous'), type: 'unknown' };
      const op = getOperationAST(document, operationName);
      return { name: label(op?.name?.value ?? 'anonymous'), type: op?.operation ?? 'unknown' };
    },
    async traced(op, fn) {
      const started = performance.now();
      const span = startSpan(op);
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
        finish(op, span, started, failed);
      }
    },
    refused(op, started, code) {
      const span = startSpan(op, started);
      span.setAttribute('graphql.error.code', code);
      finish(op, span, started, true);
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

/** The code a client sees: a coded error's own, else graphql-js's parse or validation failure. */
function codeOf(err: unknown, fallback: string): string {
  const code = (err as { extensions?: Record<string, unknown> } | undefined)?.extensions?.['code'];
  return typeof code === 'string' ? code : fallback;
}

/** The operation name the client asked for (yoga and ws.ts put the request's params in the context). */
function requestedName(ctx: unknown): string | null {
  const name = (ctx as { params?: { operationName?: unknown } } | undefined)?.params?.operationName;
  return typeof name === 'string' ? name : null;
}

/**
 * Every operation, HTTP and graphql-ws alike. Queries and mutations are traced around execution;
 * subscriptions by useSubscriptions with the same telemetry. One refused at parse (a syntax error,
 * the token limit, the document size) or validation (unknown fields, depth, UNTRUSTED_DOCUMENT) is
 * counted here. Parse is instrumented rather than hooked: a parse hook that throws (the size limit,
 * yoga's cache of failed documents) skips every other hook's onParseDone.
 */
export function useTelemetry(telemetry: OperationTelemetry): Plugin {
  return {
    instrumentation: {
      parse({ context }, parse) {
        const started = performance.now();
        try {
          parse();
        } catch (err) {
          telemetry.refused(telemetry.operationOf(null, requestedName(context)), started, codeOf(err, 'GRAPHQL_PARSE_FAILED'));
          throw err;
        }
      },
    },
    onValidate({ params, context }) {
      const started = performance.now();
      return ({ valid, result }) => {
        if (valid) return;
        const op = telemetry.operationOf(params.documentAST, requestedName(context));
        telemetry.refused(op, started, codeOf(result[0], 'GRAPHQL_VALIDATION_FAILED'));
      };
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      const op = telemetry.operationOf(args.document, args.operationName);
      setExecuteFn((a) => telemetry.traced(op, () => executeFn(a)));
    },
  };
}
