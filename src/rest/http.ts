import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

export const PROTOCOL_VERSION = '8.2.0';
export const BODY_LIMIT = 102_400;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** rest.md: on every response, after X-Request-Id. */
const COMMON_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['X-Protocol-Version', PROTOCOL_VERSION],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'strict-origin-when-cross-origin'],
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
];

export function applyCommonHeaders(res: ServerResponse, requestId: string): void {
  res.setHeader('X-Request-Id', requestId);
  for (const [name, value] of COMMON_HEADERS) res.setHeader(name, value);
}

/**
 * A whole JSON error response for a raw socket, where Node gives no ServerResponse (an upgrade
 * Dixie does not serve, a request Node could not parse): the same body shape and headers as any
 * other answer, and the connection closed.
 */
export function rawErrorResponse(status: number, reason: string, error: string, message: string, requestId: string = randomUUID()): string {
  const body = JSON.stringify({ error, message });
  const headers = [['Content-Type', 'application/json; charset=utf-8'], ['Content-Length', String(Buffer.byteLength(body))], ['X-Request-Id', requestId], ...COMMON_HEADERS, ['Connection', 'close']];
  return `HTTP/1.1 ${status} ${reason}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n${body}`;
}

/** Applies CORS headers; returns true when it answered a preflight. */
export function applyCors(req: IncomingMessage, res: ServerResponse, origins: readonly string[]): boolean {
  const origin = req.headers.origin;
  const any = origins.includes('*');
  if (origin && (any || origins.includes(origin))) {
    res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
    if (!any) {
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id');
  }
  if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
    if (origin && (any || origins.includes(origin))) {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS');
      res.setHeader(
        'Access-Control-Allow-Headers',
        'Content-Type, Authorization, X-Request-Id, X-GraphQL-CSRF, X-TBA-Address, X-TBA-Signature, X-TBA-Timestamp',
      );
      res.setHeader('Access-Control-Max-Age', '3600');
    }
    res.statusCode = 204;
    res.end();
    return true;
  }
  return false;
}

export class BodyTooLargeError extends Error {
  constructor() {
    super(`Body exceeds ${BODY_LIMIT} bytes`);
  }
}

/** Reads the body, counting the bytes actually received (chunked bodies too). */
export function readBody(req: IncomingMessage, limit = BODY_LIMIT): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLargeError());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.resume();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!done) reject(err);
      done = true;
    });
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendRawJson(res, status, JSON.stringify(body), headers);
}

/** Sends an already serialised JSON body. */
export function sendRawJson(res: ServerResponse, status: number, payload: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.end(payload);
}

export function sendError(res: ServerResponse, status: number, error: string, message: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, status, { error, message, ...extra });
}
