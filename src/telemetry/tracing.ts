import { context, defaultTextMapGetter, defaultTextMapSetter, ProxyTracer, ROOT_CONTEXT, type Context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { redactUrl, type Config } from '../config.js';
import type { Deadline } from '../deadline.js';
import type { Logger } from '../logger.js';
import { requestScope } from '../request-scope.js';

export interface Tracing {
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** Adds `traceparent` for the active span to outgoing headers (no-op when disabled). */
  propagate(headers: Record<string, string>): void;
  /** Flushes pending spans (for at most 2 s, less if `by` is nearer) and stops the exporter; runs once. */
  shutdown(by?: Deadline): Promise<void>;
}

export interface TracingOptions {
  /** Tests: export synchronously to this exporter (e.g. InMemorySpanExporter), even without an endpoint. */
  exporter?: SpanExporter;
}

const w3c = new W3CTraceContextPropagator();
const SHUTDOWN_FLUSH_MS = 2_000;

/** The context an incoming request continues: its `traceparent`, if valid. */
export function extractTraceContext(headers: Record<string, string | string[] | undefined>): Context {
  return w3c.extract(context.active(), headers, defaultTextMapGetter);
}

// Never delegates: a no-op tracer even if some library registers a global provider.
const noopTracer: Tracer = new ProxyTracer({ getDelegateTracer: () => undefined }, 'dixie');

export const disabledTracing: Tracing = Object.freeze({
  enabled: false,
  tracer: noopTracer,
  // Not tracing itself, Dixie passes its caller's trace on to Finn unchanged (finn.md: every call
  // carries traceparent); the W3C propagator drops a malformed one.
  propagate: (headers: Record<string, string>) => {
    const traceparent = requestScope.getStore()?.traceparent;
    if (traceparent) w3c.inject(w3c.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter), headers, defaultTextMapSetter);
  },
  shutdown: async () => undefined,
});

/** An unreachable collector must not eat the shutdown grace period: flush for at most `ms`. */
async function flushWithin(provider: TracerProvider, logger: Logger, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  const flushed = provider.shutdown().then(
    () => null,
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
  const problem = await Promise.race([flushed, timedOut]);
  clearTimeout(timer);
  if (problem) logger.warn({ event: 'tracing_shutdown_failed', err: problem }, 'trace flush at shutdown failed');
}

let contextManagerInstalled = false;

/** Spans nest through awaits only with an AsyncLocalStorage context manager (process-global, installed once). */
function installContextManager(): void {
  if (contextManagerInstalled) return;
  contextManagerInstalled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/**
 * OpenTelemetry tracing, exported over OTLP gRPC to `config.otelEndpoint`. The provider is not
 * registered globally, so two Dixie instances in one process keep separate tracers and exporters.
 */
export async function createTracing(config: Readonly<Config>, logger: Logger, opts: TracingOptions = {}): Promise<Tracing> {
  if (!config.otelEndpoint && !opts.exporter) return disabledTracing;
  installContextManager();
  let processor: SimpleSpanProcessor | BatchSpanProcessor;
  if (opts.exporter) {
    processor = new SimpleSpanProcessor({ exporter: opts.exporter });
  } else {
    // Loaded only when tracing is on: gRPC is heavy to import.
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
    const exporter = new OTLPTraceExporter({ url: config.otelEndpoint ?? undefined, timeoutMillis: 5_000 });
    processor = new BatchSpanProcessor({ exporter, exportTimeoutMillis: 5_000 });
  }
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: 'dixie',
      [ATTR_SERVICE_VERSION]: config.version,
      'deployment.environment.name': config.nodeEnv,
    }),
    spanProcessors: [processor],
  });
  // config.md: a password inside a URL never reaches the logs.
  if (config.otelEndpoint) logger.info({ event: 'tracing_enabled', endpoint: redactUrl(config.otelEndpoint) }, 'tracing enabled (OTLP gRPC)');
  let stopped: Promise<void> | null = null;
  return {
    enabled: true,
    tracer: provider.getTracer('dixie', config.version),
    propagate: (headers) => w3c.inject(context.active(), headers, defaultTextMapSetter),
    shutdown(by) {
      stopped ??= flushWithin(provider, logger, Math.min(SHUTDOWN_FLUSH_MS, by?.remaining() ?? SHUTDOWN_FLUSH_MS));
      return stopped;
    },
  };
}
