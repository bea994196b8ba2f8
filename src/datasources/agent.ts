import type { Cache } from './cache.js';
import { viaFinn } from './finn/call.js';
import { assertNftId } from './finn/ids.js';
import type { Finn, FinnCallContext } from './finn/index.js';
import { createSingleFlight } from './single-flight.js';
import { cachedOracle, cachedPersonality } from './cache-schemas.js';

export interface OracleView {
  nftId: string;
  name: string;
  damp96Summary: Record<string, unknown> | null;
  beauvoirHash: string | null;
}

export interface PersonalityEvolutionView {
  version: string;
  timestamp: string;
  changes: unknown[];
  trigger: string | null;
}

export interface PersonalityView {
  nftId: string;
  name: string;
  traits: string[];
  antiNarration: string[];
  damp96Summary: Record<string, number>;
  version: string;
  lastEvolved: string | null;
  evolution: PersonalityEvolutionView[];
}

export interface AgentService {
  /** Finn B2, cached 5 min; the fallback identity when Finn does not serve it. */
  oracle(ctx: FinnCallContext): Promise<OracleView>;
  /** Finn B4 + B5, cached `personalityTtl` s; null when Finn has no personality for the NFT. */
  personality(nftId: string, ctx: FinnCallContext): Promise<PersonalityView | null>;
}

const ORACLE_TTL_S = 300;
const ORACLE_KEY = 'finn:oracle:v1';
const FALLBACK_ORACLE: OracleView = { nftId: 'oracle', name: 'The Oracle', damp96Summary: null, beauvoirHash: null };

export function createAgentService(deps: { finn: Finn; cache: Cache; personalityTtl: number }): AgentService {
  const { finn, cache } = deps;
  const oracleLoads = createSingleFlight<OracleView>();
  const personalityLoads = createSingleFlight<PersonalityView | null>();
  return {
    async oracle(ctx) {
      const cached = await cache.get(ORACLE_KEY, cachedOracle);
      if (cached) return cached;
      return oracleLoads.run(ORACLE_KEY, async () => {
        const o = await viaFinn(finn.breaker, () => finn.client.oracle(ctx));
        const view: OracleView = o
          ? { nftId: o.nftId, name: o.name, damp96Summary: o.damp96_summary ?? null, beauvoirHash: o.beauvoir_hash ?? null }
          : FALLBACK_ORACLE;
        await cache.set(ORACLE_KEY, view, ORACLE_TTL_S);
        return view;
      });
    },
    async personality(nftId, ctx) {
      const key = `finn:personality:v1:${assertNftId(nftId)}`;
      const cached = await cache.get(key, cachedPersonality);
      if (cached) return cached.value;
      return personalityLoads.run(key, () => loadPersonality(nftId, key, ctx));
    },
  };

  async function loadPersonality(nftId: string, key: string, ctx: FinnCallContext): Promise<PersonalityView | null> {
    const [b, evolution] = await viaFinn(finn.breaker, () =>
      Promise.all([finn.client.beauvoir(nftId, ctx), finn.client.evolution(nftId, ctx)]),
    );
    const value: PersonalityView | null = b
      ? {
          nftId: b.nftId,
          name: b.name,
          traits: b.traits,
          antiNarration: b.antiNarration,
          damp96Summary: b.damp96Summary,
          version: String(b.version),
          lastEvolved: b.lastEvolved ?? null,
          evolution: (evolution ?? []).map((e) => ({ version: String(e.version), timestamp: e.timestamp, changes: e.changes, trigger: e.trigger ?? null })),
        }
      : null;
    await cache.set(key, { value }, deps.personalityTtl);
    return value;
  }
}
