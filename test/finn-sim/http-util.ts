import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Finn's JSON error shape. */
export function sendFinnError(res: ServerResponse, status: number, error: string, code: string): void {
  sendJson(res, status, { error, code });
}

/** Finn answers unknown routes with a plain-text 404. */
export function sendNotFound(res: ServerResponse): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8', 'Content-Length': 9 });
  res.end('Not Found');
}

export type BodyResult = { ok: true; value: unknown; empty: boolean } | { ok: false };

/** Reads the body; `ok: false` for malformed JSON (or a body over 1 MiB). */
export async function readJson(req: IncomingMessage): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { ok: false };
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { ok: true, value: undefined, empty: true };
  try {
    return { ok: true, value: JSON.parse(text) as unknown, empty: false };
  } catch {
    return { ok: false };
  }
}

function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Finn's client IP: CF-Connecting-IP, then the first X-Forwarded-For entry, then the socket. */
export function clientIp(req: IncomingMessage): string {
  const cf = firstHeader(req.headers, 'cf-connecting-ip')?.trim();
  if (cf) return cf;
  const xff = firstHeader(req.headers, 'x-forwarded-for')?.split(',')[0]?.trim();
  if (xff) return xff;
  return req.socket.remoteAddress ?? 'unknown';
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export type AuthResult = 'ok' | 'AUTH_REQUIRED' | 'AUTH_INVALID';

export function checkBearer(headers: IncomingHttpHeaders, token: string | null): AuthResult {
  if (token === null) return 'ok';
  const header = firstHeader(headers, 'authorization');
  if (!header?.startsWith('Bearer ')) return 'AUTH_REQUIRED';
  return safeEqual(header.slice('Bearer '.length), token) ? 'ok' : 'AUTH_INVALID';
}

export function checkQueryToken(query: URLSearchParams, token: string | null): AuthResult {
  if (token === null) return 'ok';
  const given = query.get('token');
  if (!given) return 'AUTH_REQUIRED';
  return safeEqual(given, token) ? 'ok' : 'AUTH_INVALID';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decodes a path segment; null when it is not valid percent-encoding. */
export function decodeSegment(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}
