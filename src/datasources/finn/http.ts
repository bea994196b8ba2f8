import type { Tracer } from '@opentelemetry/api';
import type { z } from 'zod';
import type { FinnConfig } from '../../config.js';
import { forwardedFor } from '../../domain/client-ip.js';
import type { Logger } from '../../logger.js';
import { observeFinnCall, type FinnCallFacts } from '../../telemetry/finn-span.js';
import type { DixieMetrics } from '../../telemetry/metrics.js';
import { disabledTracing } from '../../telemetry/tracing.js';
import type { FinnBreaker } from './breaker.js';
import { FinnAnswerError, FinnContractError, FinnTransportError } from './errors.js';

/** Per-call facts about the end user's request, forwarded to Finn. */
export interface FinnCallContext {
  requestId?: string;
  clientIp?: string | null;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface FinnRequest<T> extends FinnCallContext {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  schema: z.ZodType<T>;
}

export interface FinnHttp {
  call<T>(req: FinnRequest<T>): Promise<T>;
}

export interface FinnHttpDeps {
  config: FinnConfig;
  breaker: FinnBreaker;
  logger: Logger;
  /** Adds trace propagation headers (traceparent) when tracing is on. */
  propagate?: (headers: Record<string, string>) => void;
  /** A span per call (no-op tracer when absent). */
  tracer?: Tracer;
  metrics?: DixieMetrics;
}

interface Answer {
  status: number;
  code: string | null;
}

function finnCodeOf(body: unknown): string | null {
  if (body && typeof body === 'object' && 'code' in body && typeof body.code === 'string') return body.code;
  return null;
}

/** Finn's JSON answers are small; a larger body is off the contract (as WebSocket frames over 4 MB are). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The body's text, or null once it outgrows MAX_BODY_BYTES (the rest is not read). */
async function readBoundedText(res: Response): Promise<string | null> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    size += r.value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(r.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** null for no body; undefined for one that is not JSON or too large, which no schema accepts. */
async function readJson(res: Response): Promise<unknown> {
  const text = await readBoundedText(res);
  if (text === null) return undefined;
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function createFinnHttp(deps: FinnHttpDeps): FinnHttp {
  const { config, breaker } = deps;

  const telemetry = { tracer: deps.tracer ?? disabledTracing.tracer, metrics: deps.metrics, circuitState: () => breaker.state() };

  async function send(req: FinnRequest<unknown>, signal: AbortSignal, facts: FinnCallFacts): Promise<{ body: unknown } | Answer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    if (config.authToken) headers['authorization'] = `Bearer ${config.authToken}`;
    if (req.requestId) headers['x-request-id'] = req.requestId;
    const xff = forwardedFor(req.clientIp);
    if (xff) headers['x-forwarded-for'] = xff;
    deps.propagate?.(headers);
    // A timer cleared when the call ends, not AbortSignal.timeout: that one stays armed after the
    // answer and, when it fires, builds a TimeoutError with its stack for every call made
    // timeoutMs earlier (bench chat: a thousand of them landed in the next burst of subscriptions).
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), req.timeoutMs ?? config.timeoutMs);
    timer.unref();
    const signals = [signal, timeout.signal, ...(req.signal ? [req.signal] : [])];
    let res: Response;
    let body: unknown;
    try {
      try {
        res = await fetch(config.url + req.path, {
          method: req.method,
          headers,
          body: req.body === undefined ? undefined : JSON.stringify(req.body),
          signal: AbortSignal.any(signals),
        });
      } catch (err) {
        const reason = timeout.signal.aborted ? 'timeout' : err instanceof Error ? err.name : 'network';
        throw new FinnTransportError(`Finn ${req.method} ${req.path} failed: ${reason}`, null);
      }
      facts.status = res.status;
      try {
        body = await readJson(res);
      } catch {
        throw new FinnTransportError(`Finn ${req.method} ${req.path} body interrupted`, null);
      }
    } finally {
      clearTimeout(timer);
    }
    if (res.status >= 500) throw new FinnTransportError(`Finn answered ${res.status}`, res.status, finnCodeOf(body));
    if (res.status >= 400) return { status: res.status, code: finnCodeOf(body) };
    return { body };
  }

  return {
    call<T>(req: FinnRequest<T>): Promise<T> {
      return observeFinnCall(telemetry, req.method, req.path, async (facts) => {
        const outcome = await breaker.execute(({ signal }) => send(req, signal, facts));
        if ('status' in outcome) throw new FinnAnswerError(outcome.status, outcome.code);
        const parsed = req.schema.safeParse(outcome.body);
        if (!parsed.success) {
          deps.logger.warn({ event: 'finn_contract_violation', path: req.path }, 'Finn body did not match the contract');
          throw new FinnContractError(req.path);
        }
        return parsed.data;
      });
    },
  };
}

/** Resolve to null when Finn does not serve an ecosystem endpoint (404); rethrow anything else. */
export async function orAbsent<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof FinnAnswerError && err.status === 404) return null;
    throw err;
  }
}
