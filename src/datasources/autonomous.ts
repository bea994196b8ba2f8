import { decodeIdCursor, encodeIdCursor } from '../domain/page-cursor.js';
import { dixieError } from '../errors.js';
import type { Logger } from '../logger.js';
import { applyUpdate, AutonomousInputError, defaultPermissions, type AutonomousPermissions, type AutonomousUpdate } from '../domain/autonomous.js';
import type { Cache } from './cache.js';
import type { NatsHandle } from './nats.js';
import { getPermissions, listAudit, spentToday, updatePermissions, type AuditEntry } from './postgres/autonomous-repo.js';
import type { Db } from './postgres/index.js';
import { cachedAutonomous } from './cache-schemas.js';

export type { AuditEntry } from './postgres/autonomous-repo.js';

export type AutonomousMode = AutonomousPermissions & { spentTodayMicroUsd: number };

export interface AuditPage {
  nodes: AuditEntry[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface AutonomousService {
  get(nftId: string): Promise<AutonomousMode>;
  update(nftId: string, input: AutonomousUpdate, actorWallet: string): Promise<AutonomousMode>;
  audit(nftId: string, first: number, after: string | null): Promise<AuditPage>;
  /** Drops the cached permissions of `nftId` here and, through NATS, on every other instance. */
  invalidate(nftId: string): Promise<void>;
  /** Listens for invalidations from other instances. */
  start(): void;
  stop(): void;
}

export const AUTONOMOUS_CHANGED_SUBJECT = 'dixie.autonomous.changed';
/** Versioned like the other cache keys: a value of another shape, left by another release, is never read. */
const cacheKey = (nftId: string) => `autonomous:v1:${nftId}`;

export function createAutonomousService(deps: {
  db: Db | null;
  cache: Cache;
  nats: NatsHandle | null;
  logger: Logger;
  ttlSeconds: number;
  defaultBudget: number;
}): AutonomousService {
  let off: (() => void) | null = null;
  const requireDb = (): Db => {
    if (!deps.db) throw dixieError('FEATURE_DISABLED', 'Autonomous mode needs a database (DATABASE_URL)');
    return deps.db;
  };

  const service: AutonomousService = {
    async get(nftId) {
      const db = requireDb();
      const cached = await deps.cache.lookup(cacheKey(nftId), cachedAutonomous);
      if (cached.value) return cached.value;
      const stored = (await getPermissions(db, nftId)) ?? defaultPermissions(nftId, deps.defaultBudget);
      const mode = { ...stored, spentTodayMicroUsd: await spentToday(db, nftId) };
      // Not cached if an update was invalidated meanwhile: a revoked permission would live on for the TTL.
      await cached.fill(mode, deps.ttlSeconds);
      return mode;
    },

    async update(nftId, input, actorWallet) {
      const db = requireDb();
      let after: AutonomousPermissions;
      try {
        after = await updatePermissions(db, {
          nftId,
          actorWallet,
          defaults: defaultPermissions(nftId, deps.defaultBudget),
          change: (before) => applyUpdate(before, input, actorWallet),
        });
      } catch (err) {
        if (err instanceof AutonomousInputError) throw dixieError('BAD_USER_INPUT', err.message, { field: err.field });
        throw err;
      }
      await service.invalidate(nftId);
      deps.logger.info({ event: 'autonomous_permissions_changed', nft_id: nftId, actor_wallet: actorWallet }, 'autonomous permissions changed');
      return { ...after, spentTodayMicroUsd: await spentToday(db, nftId) };
    },

    async audit(nftId, first, after) {
      const page = await listAudit(requireDb(), nftId, Math.max(0, Math.min(first, 100)), decodeIdCursor('a', after));
      const last = page.nodes.at(-1);
      return { ...page, endCursor: last ? encodeIdCursor('a', last.id) : null };
    },

    async invalidate(nftId) {
      await deps.cache.invalidate(cacheKey(nftId));
      deps.nats?.publish(AUTONOMOUS_CHANGED_SUBJECT, { nftId });
    },

    start() {
      if (!deps.nats || off) return;
      off = deps.nats.subscribe(AUTONOMOUS_CHANGED_SUBJECT, async (data) => {
        const nftId = data && typeof data === 'object' ? (data as { nftId?: unknown }).nftId : undefined;
        if (typeof nftId === 'string') await deps.cache.invalidate(cacheKey(nftId));
      });
    },
    stop() {
      off?.();
      off = null;
    },
  };
  return service;
}
