import type { FinnCallContext, FinnHttp } from './http.js';
import { orAbsent } from './http.js';
import { assertNftId, assertSessionId } from './ids.js';
import * as s from './schemas.js';

/** Typed Finn endpoints (finn.md A and B). B-endpoints resolve to null when Finn does not serve them. */
export interface FinnClient {
  health(ctx?: FinnCallContext): Promise<void>;
  knowledgeMetadata(ctx?: FinnCallContext): Promise<s.KnowledgeMetadata | null>;
  createSession(body: { token_id?: string }, ctx?: FinnCallContext): Promise<s.CreatedSession>;
  sendMessage(sessionId: string, text: string, ctx?: FinnCallContext): Promise<s.MessageReply>;
  getSession(sessionId: string, ctx?: FinnCallContext): Promise<s.SessionInfo | null>;
  oracle(ctx?: FinnCallContext): Promise<s.Oracle | null>;
  walletNfts(wallet: string, ctx?: FinnCallContext): Promise<s.Nft[] | null>;
  beauvoir(nftId: string, ctx?: FinnCallContext): Promise<s.Beauvoir | null>;
  evolution(nftId: string, ctx?: FinnCallContext): Promise<s.Evolution | null>;
  staking(wallet: string, ctx?: FinnCallContext): Promise<s.Staking | null>;
  registerCron(body: { scheduleId: string; nftId: string; cron: string; callbackUrl: string; prompt: string }, ctx?: FinnCallContext): Promise<string | null>;
  deleteCron(cronId: string, ctx?: FinnCallContext): Promise<void>;
  verifyTba(body: { tbaAddress: string; signature: string; message: string }, ctx?: FinnCallContext): Promise<s.TbaVerified | null>;
}

export function createFinnClient(http: FinnHttp, opts: { messageTimeoutMs: number }): FinnClient {
  return {
    async health(ctx) {
      await http.call({ method: 'GET', path: '/health', schema: s.finnHealthSchema, ...ctx });
    },
    knowledgeMetadata: (ctx) =>
      orAbsent(http.call({ method: 'GET', path: '/api/knowledge/metadata', schema: s.knowledgeMetadataSchema, ...ctx })),
    createSession: (body, ctx) =>
      http.call({ method: 'POST', path: '/api/sessions', body, schema: s.createdSessionSchema, ...ctx }),
    sendMessage: (sessionId, text, ctx) =>
      http.call({
        method: 'POST',
        path: `/api/sessions/${assertSessionId(sessionId)}/message`,
        body: { text },
        schema: s.messageReplySchema,
        timeoutMs: opts.messageTimeoutMs,
        ...ctx,
      }),
    getSession: (sessionId, ctx) =>
      orAbsent(http.call({ method: 'GET', path: `/api/sessions/${assertSessionId(sessionId)}`, schema: s.sessionInfoSchema, ...ctx })),
    oracle: (ctx) => orAbsent(http.call({ method: 'GET', path: '/api/identity/oracle', schema: s.oracleSchema, ...ctx })),
    async walletNfts(wallet, ctx) {
      const path = `/api/identity/wallet/${encodeURIComponent(wallet)}/nfts`;
      const res = await orAbsent(http.call({ method: 'GET', path, schema: s.walletNftsSchema, ...ctx }));
      return res ? res.nfts : null;
    },
    beauvoir: (nftId, ctx) =>
      orAbsent(http.call({ method: 'GET', path: `/api/identity/${assertNftId(nftId)}/beauvoir`, schema: s.beauvoirSchema, ...ctx })),
    evolution: (nftId, ctx) =>
      orAbsent(http.call({ method: 'GET', path: `/api/identity/${assertNftId(nftId)}/evolution`, schema: s.evolutionSchema, ...ctx })),
    staking: (wallet, ctx) =>
      orAbsent(
        http.call({ method: 'GET', path: `/api/conviction/${encodeURIComponent(wallet)}/staking`, schema: s.stakingSchema, ...ctx }),
      ),
    async registerCron(body, ctx) {
      const res = await orAbsent(http.call({ method: 'POST', path: '/api/cron/register', body, schema: s.cronRegisteredSchema, ...ctx }));
      return res ? res.cronId : null;
    },
    async deleteCron(cronId, ctx) {
      await orAbsent(http.call({ method: 'DELETE', path: `/api/cron/${encodeURIComponent(cronId)}`, schema: s.anyBodySchema, ...ctx }));
    },
    verifyTba: (body, ctx) =>
      orAbsent(http.call({ method: 'POST', path: '/api/auth/verify-tba', body, schema: s.tbaVerifiedSchema, ...ctx })),
  };
}
