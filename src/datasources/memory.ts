import { decodeIdCursor, encodeIdCursor } from '../domain/page-cursor.js';
import DataLoader from 'dataloader';
import type { Deadline } from '../deadline.js';
import { dixieError } from '../errors.js';
import type { Logger } from '../logger.js';
import { conversationCipher, type ConversationCipher } from '../domain/memory-crypto.js';
import type { MemoryEventType } from '../domain/memory-events.js';
import { computeProjection, type MemoryProjection } from '../domain/memory-projection.js';
import type { Access } from './access.js';
import type { Cache } from './cache.js';
import type { ChatStreamManager } from './finn/stream-manager.js';
import { createMemoryWriter, type MemoryWriterOptions } from './memory-writer.js';
import type { NatsHandle } from './nats.js';
import type { NftDirectory } from './nft-ownership.js';
import type { Db, Queryable } from './postgres/index.js';
import * as repo from './postgres/memory-repo.js';
import * as sealRepo from './postgres/memory-seal-repo.js';
import type { RedisHandle } from './redis.js';
import { cachedProjection } from './cache-schemas.js';

export type { MemoryProjection } from '../domain/memory-projection.js';
export type { ConversationRow, MemoryPolicy } from './postgres/memory-repo.js';
export type { DeleteRecord, SealRecord } from './postgres/memory-seal-repo.js';

export interface MemoryEventView {
  id: string;
  nftId: string;
  conversationId: string;
  type: MemoryEventType;
  /** null when erased, or sealed and the reader is not the owner. */
  payload: unknown;
  encrypted: boolean;
  erased: boolean;
  actorWallet: string | null;
  createdAt: Date;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** owner: everything; reader: delegates and, by policy read_only, anyone (sealed payloads hidden). */
export type MemoryRole = 'owner' | 'reader';

export interface EventsArgs {
  first: number | null;
  after: string | null;
  conversationId: string | null;
  types: readonly string[] | null;
}

export interface MemoryService {
  readonly enabled: boolean;
  /** Per-request access answers and the projection DataLoader. */
  forRequest(access: Access): MemoryRequest;
  /** Appends one batch of a conversation (one transaction) and invalidates the NFT's projection everywhere. */
  /** `batchId` makes a retried batch idempotent (see memory-repo appendEvents). */
  append(batch: repo.AppendBatch): Promise<string[]>;
  /** Appends within the caller's transaction (sealed or erased as its conversation requires); invalidate after the commit. */
  appendWithin(tx: Queryable, batch: repo.AppendBatch): Promise<string[]>;
  events(nftId: string, role: MemoryRole, args: EventsArgs): Promise<Page<MemoryEventView>>;
  conversations(nftId: string, args: { first: number | null; after: string | null; includeSealed: boolean }): Promise<Page<repo.ConversationRow>>;
  /** Cached projections (DIXIE_MEMORY_PROJECTION_TTL), the misses computed in one batch. */
  projections(nftIds: readonly string[]): Promise<MemoryProjection[]>;
  seal(nftId: string, conversationId: string, actorWallet: string, policy: Record<string, unknown>): Promise<sealRepo.SealRecord>;
  deleteConversation(nftId: string, conversationId: string, actorWallet: string): Promise<sealRepo.DeleteRecord>;
  setPolicy(nftId: string, access: repo.MemoryPolicy, actorWallet: string): Promise<void>;
  invalidate(nftId: string): Promise<void>;
  /** Chat sessions the soul-memory writer holds state for: a turn in progress or batches to write. */
  writerSessions(): number;
  /** Stops listening and writes what is still queued while `by` allows. */
  close(by: Deadline): Promise<void>;
}

export interface MemoryRequest {
  /** The caller's role for this NFT; NOT_FOUND when it may not read (existence is not revealed). */
  role(nftId: string): Promise<MemoryRole>;
  /** NOT_FOUND when the caller may not read, FORBIDDEN when it may read but is not the owner. */
  requireOwner(nftId: string): Promise<void>;
  projection(nftId: string): Promise<MemoryProjection>;
}

export const MEMORY_INVALIDATED_SUBJECT = 'dixie.memory.invalidated';
/** Versioned like the other cache keys: a value of another shape, left by another release, is never read. */
const projectionKey = (nftId: string) => `memory:projection:v1:${nftId}`;

export function createMemoryService(deps: {
  db: Db | null;
  cache: Cache;
  redis: RedisHandle | null;
  nats: NatsHandle | null;
  /** Whose chats are recorded: the owners of the session's NFT. */
  nfts: NftDirectory;
  streams: ChatStreamManager;
  logger: Logger;
  projectionTtl: number;
  maxEvents: number;
  sealKey: string;
  writer?: Partial<MemoryWriterOptions>;
}): MemoryService {
  const { db, cache, logger } = deps;
  const requireDb = (): Db => {
    if (!db) throw dixieError('FEATURE_DISABLED', 'Soul memory needs a database (DATABASE_URL)');
    return db;
  };
  const cipherFor = (conversationId: string): ConversationCipher | null => (deps.sealKey ? conversationCipher(deps.sealKey, conversationId) : null);
  const clamp = (first: number | null) => Math.max(0, Math.min(first ?? deps.maxEvents, deps.maxEvents));
  const localOnly = !deps.redis && !!deps.nats;
  const offInvalidations = localOnly
    ? deps.nats!.subscribe(MEMORY_INVALIDATED_SUBJECT, async (data) => {
        const nftId = (data as { nftId?: unknown } | null)?.nftId;
        if (typeof nftId === 'string') await cache.invalidate(projectionKey(nftId));
      })
    : () => undefined;

  const getPolicy = (nftId: string) => repo.getPolicy(requireDb(), nftId);

  const service: MemoryService = {
    enabled: !!db,
    forRequest: (access) => createMemoryRequest(service, access, getPolicy),
    async append(batch) {
      const ids = await repo.appendEvents(requireDb(), batch, cipherFor);
      await service.invalidate(batch.nftId);
      return ids;
    },
    appendWithin: (tx, batch) => repo.appendInTransaction(tx, batch, cipherFor),
    async events(nftId, role, args) {
      const limit = clamp(args.first);
      const rows = await repo.listEvents(requireDb(), {
        nftId,
        beforeId: decodeIdCursor('m', args.after),
        conversationId: args.conversationId,
        types: args.types,
        limit: limit + 1,
      });
      const items = rows.slice(0, limit).map((r) => view(r, role));
      return { items, nextCursor: rows.length > limit && items.length ? encodeIdCursor('m', items.at(-1)!.id) : null };
    },
    async conversations(nftId, args) {
      const limit = clamp(args.first);
      const rows = await repo.listConversations(requireDb(), { nftId, beforeId: decodeIdCursor('c', args.after), includeSealed: args.includeSealed, limit: limit + 1 });
      const items = rows.slice(0, limit);
      return { items, nextCursor: rows.length > limit && items.length ? encodeIdCursor('c', items.at(-1)!.id) : null };
    },
    async projections(nftIds) {
      const d = requireDb();
      const cached = await Promise.all(nftIds.map((id) => cache.lookup(projectionKey(id), cachedProjection)));
      const missing = nftIds.filter((_, i) => !cached[i]!.value);
      if (!missing.length) return cached.map((c) => c.value!);
      const inputs = await repo.projectionInputs(d, missing);
      const computed = new Map(missing.map((id) => [id, computeProjection(inputs.get(id)!)]));
      await Promise.all(nftIds.map((id, i) => (cached[i]!.value ? undefined : cached[i]!.fill(computed.get(id)!, deps.projectionTtl))));
      return nftIds.map((id, i) => cached[i]!.value ?? computed.get(id)!);
    },
    async seal(nftId, conversationId, actorWallet, policy) {
      const d = requireDb();
      const cipher = cipherFor(conversationId);
      if (!cipher) throw dixieError('FEATURE_DISABLED', 'Sealing needs DIXIE_MEMORY_SEAL_KEY');
      const result = await sealRepo.sealConversation(d, { nftId, conversationId, actorWallet, policy, cipher });
      if (!result) throw dixieError('NOT_FOUND', 'Conversation not found');
      await service.invalidate(nftId);
      return result;
    },
    async deleteConversation(nftId, conversationId, actorWallet) {
      const result = await sealRepo.deleteConversation(requireDb(), { nftId, conversationId, actorWallet });
      if (!result) throw dixieError('NOT_FOUND', 'Conversation not found');
      await service.invalidate(nftId);
      logger.info({ event: 'memory_conversation_deleted', nft_id: nftId, conversation_id: conversationId, erased: result.erasedEventCount }, 'conversation erased');
      return result;
    },
    async setPolicy(nftId, access, actorWallet) {
      await sealRepo.setPolicy(requireDb(), { nftId, access, actorWallet });
      await service.invalidate(nftId);
    },
    async invalidate(nftId) {
      await cache.invalidate(projectionKey(nftId));
      if (localOnly) deps.nats!.publish(MEMORY_INVALIDATED_SUBJECT, { nftId });
    },
    writerSessions: () => writer?.heldSessions() ?? 0,
    async close(by) {
      offInvalidations();
      await writer?.close(by);
    },
  };

  function view(r: repo.MemoryEventRow, role: MemoryRole): MemoryEventView {
    let payload: unknown = r.payload;
    if (r.sealed) {
      payload = null;
      if (role === 'owner') {
        try {
          payload = cipherFor(r.conversationId)?.open(r.sealed) ?? null;
        } catch {
          logger.warn({ event: 'memory_unseal_failed', nft_id: r.nftId, conversation_id: r.conversationId, event_id: r.id }, 'sealed payload could not be decrypted');
        }
      }
    }
    return { id: r.id, nftId: r.nftId, conversationId: r.conversationId, type: r.type, payload, encrypted: !!r.sealed, erased: r.erased, actorWallet: r.actorWallet, createdAt: r.createdAt };
  }

  const writer = db ? createMemoryWriter({ streams: deps.streams, nfts: deps.nfts, logger, append: service.append, options: deps.writer }) : null;
  return service;
}

/**
 * One per GraphQL operation, including every open subscription that never touches soul memory:
 * a class with lazily created state, so an unused request is one small object.
 */
class LazyMemoryRequest implements MemoryRequest {
  #roles: Map<string, Promise<MemoryRole | null>> | undefined;
  #loader: DataLoader<string, MemoryProjection> | undefined;

  constructor(
    private readonly service: MemoryService,
    private readonly access: Access,
    private readonly policyOf: (nftId: string) => Promise<repo.MemoryPolicy>,
  ) {}

  #roleOf(nftId: string): Promise<MemoryRole | null> {
    const roles = (this.#roles ??= new Map());
    let p = roles.get(nftId);
    if (!p) {
      const { service, access, policyOf } = this;
      p = (async (): Promise<MemoryRole | null> => {
        if (!service.enabled) throw dixieError('FEATURE_DISABLED', 'Soul memory needs a database (DATABASE_URL)');
        if (await access.isNftOwner(nftId)) return 'owner';
        if (await access.canReadNft(nftId)) return 'reader';
        return (await policyOf(nftId)) === 'read_only' ? 'reader' : null;
      })();
      roles.set(nftId, p);
    }
    return p;
  }

  async role(nftId: string): Promise<MemoryRole> {
    const role = await this.#roleOf(nftId);
    if (!role) throw dixieError('NOT_FOUND', 'Memory not found');
    return role;
  }

  async requireOwner(nftId: string): Promise<void> {
    const role = await this.#roleOf(nftId);
    if (!role) throw dixieError('NOT_FOUND', 'Memory not found');
    if (role !== 'owner') throw dixieError('FORBIDDEN', 'Only the NFT owner may do this');
  }

  projection(nftId: string): Promise<MemoryProjection> {
    const service = this.service;
    this.#loader ??= new DataLoader((ids: readonly string[]) => service.projections(ids));
    return this.#loader.load(nftId);
  }
}

function createMemoryRequest(service: MemoryService, access: Access, policyOf: (nftId: string) => Promise<repo.MemoryPolicy>): MemoryRequest {
  return new LazyMemoryRequest(service, access, policyOf);
}
