import { getAddress } from 'viem';

/** The allowlist document (rest.md), also the file format at DIXIE_ALLOWLIST_PATH. */
export interface AllowlistData {
  version: 1;
  wallets: string[];
  apiKeys: string[];
  updated_at: string;
  /** Preserved verbatim when present. */
  policy?: Record<string, unknown>;
}

export type AllowlistEntryType = 'wallet' | 'apiKey';

export interface AllowlistProblem {
  error: 'invalid_request' | 'invalid_address';
  message: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: AllowlistProblem };

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
/** A wallet to remove may come in any case, its `0x` prefix included. */
const ANY_CASE_ADDRESS = /^0x[0-9a-f]{40}$/i;
const API_KEY = /^dxk_[\x21-\x7e]{16,}$/;

export const PROBLEMS = {
  required: { error: 'invalid_request', message: 'type and value required' },
  type: { error: 'invalid_request', message: 'type must be wallet or apiKey' },
  address: { error: 'invalid_address', message: 'Invalid Ethereum address' },
  apiKey: { error: 'invalid_request', message: 'API keys must start with dxk_ and have at least 16 more characters' },
} as const satisfies Record<string, AllowlistProblem>;

export function emptyAllowlist(now = new Date()): AllowlistData {
  return { version: 1, wallets: [], apiKeys: [], updated_at: now.toISOString() };
}

/** EIP-55 form of an address; a mixed-case address must already carry a correct checksum. */
export function normaliseWallet(value: string): string | null {
  if (!HEX_ADDRESS.test(value)) return null;
  const body = value.slice(2);
  const checksummed = getAddress(value.toLowerCase());
  if (body === body.toLowerCase() || body === body.toUpperCase()) return checksummed;
  return checksummed === value ? checksummed : null;
}

export function isApiKeyFormat(value: string): boolean {
  return API_KEY.test(value);
}

/** Validates an add request in rest.md's order of checks. */
export function checkEntry(type: unknown, value: unknown): Checked<{ type: AllowlistEntryType; value: string }> {
  if (typeof type !== 'string' || type === '' || typeof value !== 'string' || value === '') return { ok: false, problem: PROBLEMS.required };
  if (type !== 'wallet' && type !== 'apiKey') return { ok: false, problem: PROBLEMS.type };
  if (type === 'wallet') {
    const wallet = normaliseWallet(value.trim());
    return wallet ? { ok: true, value: { type, value: wallet } } : { ok: false, problem: PROBLEMS.address };
  }
  return isApiKeyFormat(value) ? { ok: true, value: { type, value } } : { ok: false, problem: PROBLEMS.apiKey };
}

/** Adds a checked entry; returns the same object when it was already present. */
export function addEntry(data: AllowlistData, entry: { type: AllowlistEntryType; value: string }, now = new Date()): AllowlistData {
  const list = entry.type === 'wallet' ? data.wallets : data.apiKeys;
  if (list.includes(entry.value)) return data;
  const next = { ...data, updated_at: now.toISOString() };
  if (entry.type === 'wallet') next.wallets = [...data.wallets, entry.value];
  else next.apiKeys = [...data.apiKeys, entry.value];
  return next;
}

/** Removes a wallet (any case) or an API key (exact); null when it is not on the list. */
export function removeEntry(data: AllowlistData, entry: string, now = new Date()): AllowlistData | null {
  if (ANY_CASE_ADDRESS.test(entry)) {
    const lower = entry.toLowerCase();
    const wallets = data.wallets.filter((w) => w.toLowerCase() !== lower);
    return wallets.length === data.wallets.length ? null : { ...data, wallets, updated_at: now.toISOString() };
  }
  const apiKeys = data.apiKeys.filter((k) => k !== entry);
  return apiKeys.length === data.apiKeys.length ? null : { ...data, apiKeys, updated_at: now.toISOString() };
}

/**
 * Parses the file's text. Anything that is not a well-formed allowlist is rejected as a whole, so a
 * half-edited file never replaces good data; wallets are normalised and de-duplicated.
 */
export function parseAllowlist(text: string): Checked<AllowlistData> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return invalid('not valid JSON');
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return invalid('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (o['version'] !== undefined && o['version'] !== 1) return invalid('unsupported version');
  if (!isStringArray(o['wallets']) || !isStringArray(o['apiKeys'])) return invalid('wallets and apiKeys must be string arrays');
  const wallets: string[] = [];
  for (const w of o['wallets']) {
    const n = normaliseWallet(w.trim());
    if (!n) return invalid('invalid wallet address');
    if (!wallets.includes(n)) wallets.push(n);
  }
  const data: AllowlistData = {
    version: 1,
    wallets,
    apiKeys: [...new Set(o['apiKeys'])],
    // A hand-edited value that is no date would break every reader that parses it (GraphQL's DateTime).
    updated_at: typeof o['updated_at'] === 'string' && !Number.isNaN(Date.parse(o['updated_at'])) ? o['updated_at'] : new Date(0).toISOString(),
  };
  const policy = o['policy'];
  if (policy !== undefined) {
    if (!policy || typeof policy !== 'object' || Array.isArray(policy)) return invalid('policy must be an object');
    data.policy = policy as Record<string, unknown>;
  }
  return { ok: true, value: data };
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((v) => typeof v === 'string');
}

function invalid(message: string): Checked<never> {
  return { ok: false, problem: { error: 'invalid_request', message } };
}
