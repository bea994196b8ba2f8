import { isStale, staleShareStatus } from '../domain/governor.js';
import { createCachedProbe } from './cached-probe.js';
import { FinnContractError, toClientError } from './finn/errors.js';
import type { FinnBreaker, FinnClient } from './finn/index.js';
import type { KnowledgeMetadata } from './finn/schemas.js';
import type { Governor } from './governors.js';

export interface KnowledgeSnapshot {
  /** null: Finn does not serve B1 (404) or never answered; else its last answer. */
  metadata: KnowledgeMetadata | null;
  /** false: the last refresh failed (not a 404), or there was none yet. */
  reachable: boolean;
  /** Why the last refresh failed (null when it did not). */
  failure: unknown;
}

export interface KnowledgeSource {
  /** Never waits on Finn (health, governors): the last snapshot. */
  snapshot(): Promise<KnowledgeSnapshot>;
  /**
   * For a client field: the last answer Finn gave (or the 404 fallback, `metadata: null`, also
   * used for an answer off the contract). When Finn has never answered, asks it now and throws the
   * failure of that call (UPSTREAM_UNAVAILABLE at once while the circuit is open).
   */
  forClient(): Promise<KnowledgeSnapshot>;
  corpus(): Promise<{ document_count: number; last_indexed: string | null }>;
  governor: Governor;
}

/** Finn B1, cached 60 s, shared by /api/health, the knowledge_corpus governor and `agent.knowledge`. */
export function createKnowledgeSource(finn: FinnClient, breaker: FinnBreaker, opts: { ttlMs?: number; waitMs?: number } = {}): KnowledgeSource {
  let lastAnswer: KnowledgeMetadata | null = null;
  /** Finn has answered B1 once (its metadata, or 404). */
  let answered = false;
  const probe = createCachedProbe<KnowledgeSnapshot>({
    run: async () => {
      try {
        // The configured Finn timeout applies (finn.md); readers never wait on it, the probe is cached.
        lastAnswer = await finn.knowledgeMetadata();
        answered = true;
        return { metadata: lastAnswer, reachable: true, failure: null };
      } catch (failure) {
        // rest.md: 0 documents only on a 404 or before any answer; a failed refresh keeps the last one.
        return { metadata: lastAnswer, reachable: false, failure };
      }
    },
    initial: { metadata: null, reachable: false, failure: null },
    ttlMs: opts.ttlMs ?? 60_000,
    waitMs: opts.waitMs ?? 25,
  });
  // An answer off the contract counts as none (the 404 fallback); Finn down or failing is an error.
  const servable = (s: KnowledgeSnapshot): boolean => answered || s.reachable || s.failure instanceof FinnContractError;
  return {
    snapshot: () => probe.get(),
    async forClient() {
      const snap = await probe.get();
      if (servable(snap)) return snap;
      // Nothing to serve yet: this request asks Finn now (one call shared with any concurrent one), as
      // an uncached oracle does. With the circuit open the breaker refuses it without touching Finn.
      probe.invalidate();
      void probe.get();
      await probe.settle();
      const fresh = await probe.get();
      if (servable(fresh)) return fresh;
      throw toClientError(fresh.failure, Math.ceil(breaker.retryAfterMs() / 1000));
    },
    async corpus() {
      const { metadata } = await probe.get();
      if (!metadata) return { document_count: 0, last_indexed: null };
      const dates = metadata.domains.map((d) => d.lastUpdated).filter((d): d is string => !!d && !Number.isNaN(Date.parse(d)));
      const newest = dates.sort((a, b) => Date.parse(b) - Date.parse(a))[0] ?? null;
      return { document_count: metadata.totalDocuments, last_indexed: newest };
    },
    governor: {
      resourceType: 'knowledge_corpus',
      async read() {
        const { metadata, reachable } = await probe.get();
        const domains = metadata?.domains ?? [];
        const now = Date.now();
        const stale = domains.filter((d) => isStale(d.lastUpdated, now)).length;
        const status = !reachable ? 'degraded' : staleShareStatus(domains.length, stale);
        return { status, totalItems: domains.length, staleItems: stale };
      },
    },
  };
}
