import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';

export type Env = Record<string, string | undefined>;

/**
 * Reads variables while collecting every problem and warning, so startup can report all of them
 * at once instead of failing on the first. Messages never contain a secret's value.
 */
export interface EnvReader {
  readonly problems: string[];
  readonly warnings: string[];
  problem(name: string, message: string): void;
  warn(name: string, message: string): void;
  /** Trimmed value; undefined when unset, empty or blank (the default applies). */
  text(name: string): string | undefined;
  /**
   * Untrimmed so a secret shared with another service is used exactly; '' when unset or blank.
   * Edge whitespace (a newline left by `file://` in SSM) is kept but warned about; `header` secrets
   * travel in HTTP headers, which cannot carry a line break or control character: a problem.
   */
  secret(name: string, opts?: { header?: boolean }): string;
  /** A key compared with what a client sends in a header (trimmed there): trimmed, with a warning if it changed. */
  headerKey(name: string): string;
  int(name: string, fallback: number, min: number, max: number): number;
  oneOf<T extends string>(name: string, schema: z.ZodEnum<{ [K in T]: K }>, fallback: T): T;
  /** An absolute URL with one of `protocols` (e.g. 'http:'), trailing slashes removed; null when unset or invalid. */
  url(name: string, protocols: readonly string[], expected: string): string | null;
}

const INTEGER = /^[+-]?\d+$/;
// eslint-disable-next-line no-control-regex -- exactly what it looks for
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const NOT_IN_A_HEADER = 'contains a line break or control character, which an HTTP header cannot carry';

export function createEnvReader(env: Env): EnvReader {
  const problems: string[] = [];
  const warnings: string[] = [];
  const problem = (name: string, message: string): void => void problems.push(`${name}: ${message}`);
  const warn = (name: string, message: string): void => void warnings.push(`${name}: ${message}`);
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };

  return {
    problems,
    warnings,
    problem,
    warn,
    text,
    secret(name, opts = {}) {
      const value = env[name] ?? '';
      if (value.trim() === '') return '';
      if (opts.header && CONTROL.test(value)) problem(name, NOT_IN_A_HEADER);
      else if (value !== value.trim()) warn(name, 'has leading or trailing whitespace, used as part of the secret (a newline left from a file?)');
      return value;
    },
    headerKey(name) {
      const value = (env[name] ?? '').trim();
      if (CONTROL.test(value)) problem(name, NOT_IN_A_HEADER);
      else if (value !== '' && value !== env[name]) warn(name, 'leading or trailing whitespace removed: a header cannot carry it');
      return value;
    },
    int(name, fallback, min, max) {
      const raw = text(name);
      if (raw === undefined) return fallback;
      if (!INTEGER.test(raw)) {
        problem(name, `must be a base-10 integer (got "${raw}")`);
        return fallback;
      }
      const value = Number(raw);
      const clamped = Math.min(max, Math.max(min, value));
      if (clamped !== value) warn(name, `${raw} clamped to ${clamped}`);
      return clamped;
    },
    oneOf(name, schema, fallback) {
      const raw = text(name);
      if (raw === undefined) return fallback;
      const parsed = schema.safeParse(raw);
      if (parsed.success) return parsed.data;
      problem(name, `must be one of ${schema.options.join(', ')} (got "${raw}")`);
      return fallback;
    },
    url(name, protocols, expected) {
      const raw = text(name);
      if (raw === undefined) return null;
      const parsed = parseUrl(raw);
      if (parsed === null || !protocols.includes(parsed.protocol)) {
        problem(name, `must be ${expected} (${describeUrl(raw)})`);
        return null;
      }
      return trimTrailingSlash(raw);
    },
  };
}

// Variables whose accepted forms take more than a protocol check.

export function readDatabaseUrl(r: EnvReader): string | null {
  const value = r.text('DATABASE_URL');
  if (value === undefined) return null;
  if (value.startsWith('pglite:') && value.length > 'pglite:'.length) return value;
  const protocol = parseUrl(value)?.protocol;
  if (protocol === 'postgres:' || protocol === 'postgresql:') return value;
  r.problem(
    'DATABASE_URL',
    `must be a postgres:// or postgresql:// URL, pglite:memory or pglite:<dir> (${describeUrl(value)})`,
  );
  return null;
}

const NATS_PROTOCOLS = ['nats:', 'tls:', 'ws:', 'wss:'];

/** Accepts what the nats client accepts: a comma-separated list of URLs or bare host:port. */
export function readNatsUrl(r: EnvReader): string | null {
  const servers = splitList(r.text('NATS_URL') ?? '');
  if (servers.length === 0) return null;
  const bad = servers.find((server) => {
    const url = parseUrl(server.includes('://') ? server : `nats://${server}`);
    return url === null || url.hostname === '' || !NATS_PROTOCOLS.includes(url.protocol);
  });
  if (bad === undefined) return servers.join(',');
  r.problem('NATS_URL', `each server must be a nats://, tls://, ws:// or wss:// URL or host:port (${describeUrl(bad)})`);
  return null;
}

export function readChainIds(r: EnvReader): number[] {
  const items = splitList(r.text('DIXIE_SIWE_CHAIN_IDS') ?? '');
  if (items.length === 0) return [1, 80094];
  const isChainId = (item: string): boolean => /^\d+$/.test(item) && Number.isSafeInteger(Number(item)) && Number(item) > 0;
  const bad = items.filter((item) => !isChainId(item));
  if (bad.length > 0) {
    const got = bad.map((item) => `"${item}"`).join(', ');
    r.problem('DIXIE_SIWE_CHAIN_IDS', `must be positive integers separated by commas (got ${got})`);
  }
  return [...new Set(items.filter((item) => !bad.includes(item)).map(Number))];
}

export function parseUrl(value: string): URL | null {
  return URL.canParse(value) ? new URL(value) : null;
}

/** Says what was wrong with a URL without echoing it: it may carry a password. */
export function describeUrl(value: string): string {
  const parsed = parseUrl(value);
  return parsed === null ? 'not a URL' : `got scheme "${parsed.protocol}"`;
}

export function trimTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

// In a parsable URL the authority ends at the first / ? #, and the password runs to its last '@'.
const AUTHORITY_PASSWORD = /^([a-z][a-z\d+.-]*:\/\/[^/?#@:]*:)[^/?#]*@/i;
// An unparsable URL may hide '/' or '@' inside the password: redact up to the last '@' to be safe.
const ANY_PASSWORD = /^([a-z][a-z\d+.-]*:\/\/[^/?#@:]*:).*@/i;

export function redactUrl(url: string): string {
  return url.replace(URL.canParse(url) ? AUTHORITY_PASSWORD : ANY_PASSWORD, '$1***@');
}

export function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Walks up from the calling module because it runs both as src/*.ts and as dist/src/*.js, which
 * sit at different depths below package.json.
 */
export function findPackageRoot(moduleUrl: string, packageName: string): { dir: string; version: string } {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === packageName && typeof pkg.version === 'string') return { dir, version: pkg.version };
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json of "${packageName}" not found above ${moduleUrl}`);
    dir = parent;
  }
}

export function findPackageVersion(moduleUrl: string, packageName: string): string {
  return findPackageRoot(moduleUrl, packageName).version;
}
