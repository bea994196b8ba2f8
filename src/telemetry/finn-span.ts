import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { BrokenCircuitError } from 'cockatiel';
import type { CircuitStateName } from '../datasources/finn/breaker.js';
import { finnRouteOf, redactWallets } from './attributes.js';
import type { DixieMetrics } from './metrics.js';

export interface FinnTelemetry {
  tracer: Tracer;
  metrics?: DixieMetrics;
  circuitState(): CircuitStateName;
}

/** Filled in by the HTTP layer once Finn answered. */
export interface FinnCallFacts {
  status?: number;
}

/**
 * A CLIENT span and one latency sample per Finn call: route (ids and wallets removed), status
 * (HTTP status, `error` for network/timeout, `circuit_open` when the breaker refused) and the
 * circuit state after the call. The span is active during the call, so `traceparent` names it.
 */
export function observeFinnCall<T>(t: FinnTelemetry, method: string, path: string, fn: (facts: FinnCallFacts) => Promise<T>): Promise<T> {
  const route = finnRouteOf(path);
  const started = performance.now();
  const facts: FinnCallFacts = {};
  const attributes = { 'http.request.method': method, 'url.path': redactWallets(path), 'finn.route': route, 'peer.service': 'loa-finn' };
  return t.tracer.startActiveSpan(`finn ${method} ${route}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    let status = 'error';
    try {
      const result = await fn(facts);
      return result;
    } catch (err) {
      if (err instanceof BrokenCircuitError) status = 'circuit_open';
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', status === 'circuit_open' ? 'circuit_open' : err instanceof Error ? err.name : 'error');
      throw err;
    } finally {
      if (facts.status !== undefined) {
        status = String(facts.status);
        span.setAttribute('http.response.status_code', facts.status);
      }
      span.setAttribute('finn.circuit_state', t.circuitState());
      span.end();
      t.metrics?.finnRequests.inc({ method, route, status });
      t.metrics?.finnDuration.observe({ method, route }, (performance.now() - started) / 1000);
    }
  });
}
