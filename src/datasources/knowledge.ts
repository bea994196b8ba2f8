import { isStale, staleShareStatus } from '../domain/governor.js';
import { createCachedProbe } from './cached-probe.js';
import type { FinnClient } from './finn/index.js';
import type { KnowledgeMetadata } from './finn/schemas.js';
import type { Governor } from './governors.js';

export interface KnowledgeSnapshot {
  /** null: Finn does not serve B1 (404) or never answered; else its last answer. */
  metadata: KnowledgeMetadata | null;
  /** false: the last refresh failed (not a 404). */
  reachable: boolean;
}

export interface KnowledgeSource {
  snapshot(): Promise<KnowledgeSnapshot>;
  corpus(): Promise<{ document_count: number; last_indexed: string | null }>;
  governor: Governor;
}

/** Finn B1, cached 60 s, shared by /api/health, the knowledge_corpus governor and `agent.knowledge`. */
export function createKnowledgeSource(finn: FinnClient, opts: { ttlMs?: number; waitMs?: number } = {}): KnowledgeSource {
  let lastAnswer: KnowledgeMetadata | null = null;
  const probe = createCachedProbe<KnowledgeSnapshot>({
    run: async () => {
      try {
        // The configured Finn timeout applies (finn.md); readers never wait on it, the probe is cached.
        lastAnswer = await finn.knowledgeMetadata();
        return { metadata: lastAnswer, reachable: true };
      } catch {
        // rest.md: 0 documents only on a 404 or before any answer; a failed refresh keeps the last one.
        return { metadata: lastAnswer, reachable: false };
      }
    },
    initial: { metadata: null, reachable: false },
    ttlMs: opts.ttlMs ?? 60_000,
    waitMs: opts.waitMs ?? 25,
  });
  return {
    snapshot: () => probe.get(),
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
