import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { BodyTooLargeError, readBody, sendError, BODY_LIMIT } from './http.js';

export interface RestRequest {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  clientIp: string;
  logger: Logger;
  params: Record<string, string>;
  /** The parsed JSON body (undefined for an empty body). */
  body: unknown;
  /** The raw body bytes (signature checks). */
  rawBody: Buffer;
}

export interface RateDecision {
  allowed: boolean;
  headers: Record<string, string>;
  retryAfter?: number;
}

export interface RestRoute {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  /** Path with `:name` segments. */
  path: string;
  /** Routes counted by the per-identity rate limiter (health is exempt). */
  rateLimited: boolean;
  handle(r: RestRequest): Promise<void> | void;
}

export type RateLimitHook = (req: IncomingMessage, clientIp: string) => Promise<RateDecision>;

interface Compiled extends RestRoute {
  regex: RegExp;
  names: string[];
}

function compile(route: RestRoute): Compiled {
  const names: string[] = [];
  const pattern = route.path
    .split('/')
    .map((seg) => {
      if (!seg.startsWith(':')) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(seg.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { ...route, regex: new RegExp(`^${pattern}/?$`), names };
}

export interface RestRouter {
  handle(req: IncomingMessage, res: ServerResponse, ctx: { requestId: string; clientIp: string; logger: Logger; path: string }): Promise<void>;
  /** The route template a path matches (`/api/admin/allowlist/:entry`), for metrics and spans. */
  routeOf(path: string): string | null;
}

export function createRestRouter(routes: RestRoute[], rateLimit?: RateLimitHook): RestRouter {
  const compiled = routes.map(compile);
  return {
    routeOf: (path) => compiled.find((r) => r.regex.test(path))?.path ?? null,
    async handle(req, res, ctx) {
      let matched: { route: Compiled; params: Record<string, string> } | null = null;
      for (const route of compiled) {
        if (route.method !== req.method && !(route.method === 'GET' && req.method === 'HEAD')) continue;
        const m = route.regex.exec(ctx.path);
        if (!m) continue;
        const params: Record<string, string> = {};
        try {
          route.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1] ?? '')));
        } catch {
          return sendError(res, 400, 'invalid_request', 'Malformed path');
        }
        matched = { route, params };
        break;
      }
      if (!matched) {
        req.resume();
        return sendError(res, 404, 'not_found', 'Route not found');
      }
      if (matched.route.rateLimited && rateLimit) {
        const decision = await rateLimit(req, ctx.clientIp);
        for (const [k, v] of Object.entries(decision.headers)) res.setHeader(k, v);
        if (!decision.allowed) {
          req.resume();
          const retry = Math.max(1, decision.retryAfter ?? 60);
          res.setHeader('Retry-After', String(retry));
          return sendError(res, 429, 'rate_limited', 'Too many requests', { retry_after: retry });
        }
      }
      let rawBody: Buffer = Buffer.alloc(0);
      let body: unknown;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        try {
          rawBody = await readBody(req);
        } catch (err) {
          if (err instanceof BodyTooLargeError) {
            res.setHeader('Connection', 'close');
            return sendError(res, 413, 'payload_too_large', `Body exceeds ${BODY_LIMIT} bytes`);
          }
          return sendError(res, 400, 'invalid_request', 'Could not read the request body');
        }
        if (rawBody.length > 0) {
          try {
            body = JSON.parse(rawBody.toString('utf8')) as unknown;
          } catch {
            return sendError(res, 400, 'invalid_request', 'Malformed JSON body');
          }
        }
      }
      await matched.route.handle({ req, res, ...ctx, params: matched.params, body, rawBody });
    },
  };
}
