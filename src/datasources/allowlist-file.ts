import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { lock } from 'proper-lockfile';
import {
  addEntry, checkEntry, emptyAllowlist, parseAllowlist, removeEntry,
  type AllowlistData, type Checked,
} from '../domain/allowlist.js';
import type { Logger } from '../logger.js';

export interface AllowlistStore {
  current(): AllowlistData;
  hasWallet(wallet: string): boolean;
  hasApiKey(key: string): boolean;
  /** Validates (rest.md order), adds and persists; resolves once the change is durable. */
  add(type: unknown, value: unknown): Promise<Checked<AllowlistData>>;
  /** null when the entry is not on the list. */
  remove(entry: string): Promise<AllowlistData | null>;
  /** Picks up an external edit now instead of at the next poll. */
  refresh(): Promise<void>;
  close(): void;
}

export interface AllowlistStoreOptions {
  path: string;
  logger: Logger;
  /** How often the file is checked for external edits (rest.md: visible within 5 s). */
  pollMs?: number;
}

type Read = { kind: 'missing' } | { kind: 'corrupt'; reason: string } | { kind: 'ok'; data: AllowlistData };

export async function createAllowlistStore(opts: AllowlistStoreOptions): Promise<AllowlistStore> {
  const { path, logger } = opts;
  let data = emptyAllowlist(new Date(0));
  let wallets = new Set<string>();
  let apiKeys = new Set<string>();
  let seen = '';
  let queue: Promise<unknown> = Promise.resolve();

  const use = (next: AllowlistData) => {
    data = next;
    wallets = new Set(next.wallets.map((w) => w.toLowerCase()));
    apiKeys = new Set(next.apiKeys);
  };

  const read = async (): Promise<Read> => {
    let text: string;
    try {
      const st = await stat(path);
      seen = `${st.ino}:${st.mtimeMs}:${st.size}`;
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      throw err;
    }
    const parsed = parseAllowlist(text);
    return parsed.ok ? { kind: 'ok', data: parsed.value } : { kind: 'corrupt', reason: parsed.problem.message };
  };

  /** A corrupt or vanished file never replaces the last good data. */
  const adopt = (r: Read) => {
    if (r.kind === 'ok') use(r.data);
    else if (r.kind === 'corrupt') logger.error({ event: 'allowlist_invalid', path, reason: r.reason }, 'allowlist file ignored: keeping the last good data');
  };

  const refresh = async () => {
    try {
      adopt(await read());
    } catch (err) {
      logger.error({ event: 'allowlist_read_failed', path, err: String(err) }, 'allowlist file could not be read');
    }
  };

  /**
   * Serialised in process by the queue and across instances sharing the file by a lock beside it,
   * held from reading the file as it is now to renaming the new one over it: no add or remove of
   * another instance can fall between the two and be lost.
   */
  const mutate = <T>(fn: (base: AllowlistData) => { next: AllowlistData | null; result: T }): Promise<T> => {
    const run = queue.then(() =>
      withFileLock(path, logger, async () => {
        adopt(await read());
        const { next, result } = fn(data);
        if (next && next !== data) {
          await writeDurably(path, next);
          use(next);
        }
        return result;
      }),
    );
    queue = run.catch(() => undefined);
    return run;
  };

  await refresh();
  const timer = setInterval(() => {
    void stat(path).then(
      (st) => (`${st.ino}:${st.mtimeMs}:${st.size}` !== seen ? (queue = queue.then(refresh)) : undefined),
      () => undefined,
    );
  }, opts.pollMs ?? 500);
  timer.unref();

  return {
    current: () => data,
    hasWallet: (wallet) => wallets.has(wallet.toLowerCase()),
    hasApiKey: (key) => apiKeys.has(key),
    add(type, value) {
      const checked = checkEntry(type, value);
      if (!checked.ok) return Promise.resolve(checked);
      return mutate((base) => {
        const next = addEntry(base, checked.value);
        return { next, result: { ok: true as const, value: next } };
      });
    },
    remove(entry) {
      return mutate((base) => {
        const next = removeEntry(base, entry.trim());
        return { next, result: next };
      });
    },
    refresh() {
      const run = queue.then(refresh);
      queue = run;
      return run;
    },
    close: () => clearInterval(timer),
  };
}

/**
 * How long a lock may go without its holder refreshing it before another instance takes it over
 * (the holder crashed), and how long a writer waits for it (~9 s): writes take milliseconds, and
 * the wait outlasts a crashed holder's lock going stale.
 */
const LOCK_STALE_MS = 5_000;
const LOCK_WAIT = { retries: 60, factor: 1.2, minTimeout: 5, maxTimeout: 200 };

/** Runs `fn` holding `<path>.lock` (proper-lockfile: an atomic mkdir, refreshed while held, stale after a crash). */
async function withFileLock<T>(path: string, logger: Logger, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const release = await lock(path, {
    realpath: false,
    stale: LOCK_STALE_MS,
    retries: LOCK_WAIT,
    // The default throws from a timer (a crash): a lock lost while held is logged instead.
    onCompromised: (err) => logger.error({ event: 'allowlist_lock_lost', path, err: err.message }, 'allowlist lock compromised while held'),
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

/** Temp file in the same folder, fsync, rename over the target, fsync the folder: old or new, never torn. */
async function writeDurably(path: string, data: AllowlistData): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(`${JSON.stringify(data, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await dh.close();
  }
}
