import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Handler, HandlerContext } from './http-routes.js';
import { decodeSegment, readJson, sendFinnError, sendJson } from './http-util.js';
import { bump } from './state.js';

const WALLET = /^0x[0-9a-fA-F]{40}$/;
const NFT_ID = /^[A-Za-z0-9_:-]{1,128}$/;

const cronBody = z.object({
  scheduleId: z.string().min(1).max(128),
  nftId: z.string().regex(NFT_ID),
  cron: z.string().trim().refine((value) => [5, 6].includes(value.split(/\s+/).length), 'cron needs 5 or 6 fields'),
  callbackUrl: z.url({ protocol: /^https?$/ }),
  prompt: z.string().min(1),
});

const verifyBody = z.object({
  tbaAddress: z.string().regex(WALLET),
  signature: z.string().min(1),
  message: z.string().min(1),
});

function invalid(ctx: HandlerContext, error: string): void {
  sendFinnError(ctx.res, 400, error, 'INVALID_REQUEST');
}

function param(ctx: HandlerContext, name: string, pattern: RegExp): string | null {
  const value = decodeSegment(ctx.match.params[name] ?? '');
  if (value === null || !pattern.test(value)) {
    invalid(ctx, `Invalid ${name}`);
    return null;
  }
  return value;
}

/** Parses a JSON body against a schema; answers 400 INVALID_REQUEST itself on failure. */
async function body<T>(ctx: HandlerContext, schema: z.ZodType<T>): Promise<T | null> {
  const raw = await readJson(ctx.req);
  if (!raw.ok) {
    invalid(ctx, 'Invalid JSON body');
    return null;
  }
  const parsed = schema.safeParse(raw.value);
  if (!parsed.success) {
    invalid(ctx, parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '));
    return null;
  }
  return parsed.data;
}

const knowledge: Handler = ({ state, res }) => sendJson(res, 200, state.fixtures.knowledge);

const oracle: Handler = ({ state, res }) => sendJson(res, 200, state.fixtures.oracle);

const nfts: Handler = (ctx) => {
  const wallet = param(ctx, 'wallet', WALLET);
  if (wallet !== null) sendJson(ctx.res, 200, { nfts: ctx.state.fixtures.nfts.get(wallet.toLowerCase()) ?? [] });
};

const beauvoir: Handler = (ctx) => {
  const nftId = param(ctx, 'nftId', NFT_ID);
  if (nftId === null) return;
  const found = ctx.state.fixtures.beauvoir.get(nftId);
  if (found) sendJson(ctx.res, 200, found);
  else sendFinnError(ctx.res, 404, 'Personality not found', 'NOT_FOUND');
};

const evolution: Handler = (ctx) => {
  const nftId = param(ctx, 'nftId', NFT_ID);
  if (nftId !== null) sendJson(ctx.res, 200, ctx.state.fixtures.evolution.get(nftId) ?? []);
};

const staking: Handler = (ctx) => {
  const wallet = param(ctx, 'wallet', WALLET);
  if (wallet === null) return;
  const found = ctx.state.fixtures.staking.get(wallet.toLowerCase());
  sendJson(ctx.res, 200, { wallet, bgtStaked: found?.bgtStaked ?? 0, ...(found?.stakedSince ? { stakedSince: found.stakedSince } : {}) });
};

const cronRegister: Handler = async (ctx) => {
  const input = await body(ctx, cronBody);
  if (!input) return;
  const cronId = `cron_${randomUUID()}`;
  ctx.state.crons.set(cronId, { cronId, ...input, registeredAt: new Date().toISOString(), deleted: false });
  bump(ctx.state, 'cron.registered');
  sendJson(ctx.res, 201, { cronId });
};

const cronDelete: Handler = (ctx) => {
  const cronId = decodeSegment(ctx.match.params.cronId ?? '') ?? '';
  const cron = ctx.state.crons.get(cronId);
  if (!cron || cron.deleted) {
    sendFinnError(ctx.res, 404, 'Job not found', 'JOB_NOT_FOUND');
    return;
  }
  cron.deleted = true;
  bump(ctx.state, 'cron.deleted');
  sendJson(ctx.res, 200, { deleted: true, id: cronId });
};

const verifyTba: Handler = async (ctx) => {
  const input = await body(ctx, verifyBody);
  if (!input) return;
  const entry = ctx.state.fixtures.tba.get(input.tbaAddress.toLowerCase());
  if (!entry || (entry.signature !== undefined && entry.signature !== input.signature)) {
    sendFinnError(ctx.res, 401, 'TBA verification failed', 'TBA_INVALID');
    return;
  }
  sendJson(ctx.res, 200, {
    tbaAddress: input.tbaAddress,
    nftContract: entry.nftContract,
    tokenId: entry.tokenId,
    ownerWallet: entry.ownerWallet,
    verifiedAt: new Date().toISOString(),
  });
};

export const ecosystemHandlers: Record<string, Handler> = {
  knowledge, oracle, nfts, beauvoir, evolution, staking,
  'cron.register': cronRegister,
  'cron.delete': cronDelete,
  verifyTba,
};
