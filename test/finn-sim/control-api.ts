import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { faultsToJson, type SimControl } from './control.js';
import { readJson, sendJson, sendNotFound } from './http-util.js';

const path = z.string().min(1).optional();
const frame = z.object({ type: z.string(), data: z.record(z.string(), z.unknown()).optional() });

const faultsBody = z.object({
  clear: z.boolean().optional(),
  latency: z.union([z.number(), z.object({ ms: z.number().min(0), path })]).optional(),
  errorRate: z.object({ rate: z.number().min(0).max(1), status: z.number().int().optional(), path }).optional(),
  failWith: z.object({ status: z.number().int().nullable(), path, code: z.string().optional() }).optional(),
  hang: z.union([z.boolean(), z.object({ path, on: z.boolean().optional() })]).optional(),
  refuseConnections: z.boolean().optional(),
  dropStreamAfter: z.number().int().min(0).nullable().optional(),
  sendErrorFrame: z.union([z.number().int().min(0), z.null(), z.object({
    afterFrames: z.number().int().min(0), message: z.string().optional(), recoverable: z.boolean().optional(), continues: z.boolean().optional(),
  })]).optional(),
  ignorePings: z.boolean().optional(),
  stallStreamAfter: z.number().int().min(0).nullable().optional(),
  absent: z.union([z.string(), z.array(z.string()), z.object({ path: z.string(), on: z.boolean().optional() })]).optional(),
  present: z.union([z.string(), z.array(z.string())]).optional(),
  wsLimitPerIp: z.number().int().min(0).optional(),
  stream: z.object({
    deltas: z.number().int().min(1).optional(), delayMs: z.number().min(0).optional(), tools: z.boolean().optional(),
    costCu: z.number().optional(), extraFrames: z.array(frame).optional(),
  }).optional(),
});

const nft = z.object({
  nftId: z.string(), contractAddress: z.string().optional(), tokenId: z.string().optional(),
  ownerWallet: z.string().optional(), delegatedWallets: z.array(z.string()).optional(),
});
const fixturesBody = z.object({
  nfts: z.record(z.string(), z.array(nft)).optional(),
  staking: z.record(z.string(), z.union([z.number(), z.object({ bgtStaked: z.number(), stakedSince: z.string().optional() })])).optional(),
  knowledge: z.object({
    domains: z.array(z.object({ name: z.string(), documentCount: z.number(), lastUpdated: z.string() })),
    totalDocuments: z.number().optional(),
  }).optional(),
  oracle: z.object({
    nftId: z.string().optional(), name: z.string().optional(),
    damp96_summary: z.record(z.string(), z.number()).nullable().optional(), beauvoir_hash: z.string().nullable().optional(),
  }).optional(),
  beauvoir: z.record(z.string(), z.object({
    name: z.string().optional(), traits: z.array(z.string()).optional(), antiNarration: z.array(z.string()).optional(),
    damp96Summary: z.record(z.string(), z.number()).optional(), version: z.number().optional(), lastEvolved: z.string().optional(),
  }).nullable()).optional(),
  evolution: z.record(z.string(), z.array(z.object({
    version: z.number(), timestamp: z.string(), changes: z.array(z.string()), trigger: z.string(),
  }))).optional(),
  tba: z.record(z.string(), z.object({
    nftContract: z.string(), tokenId: z.string(), ownerWallet: z.string(), signature: z.string().optional(),
  }).nullable()).optional(),
});

const configBody = z.object({ token: z.string().min(1).nullable().optional(), callbackSecret: z.string().optional() });
const fireBody = z.object({
  messageId: z.string().nullable().optional(), timestamp: z.union([z.number(), z.string()]).optional(),
  secret: z.string().optional(), signature: z.string().optional(),
});
const evictBody = z.object({ id: z.string().optional() });
const disconnectBody = z.object({ code: z.number().int().optional(), reason: z.string().optional() });
const broadcastBody = z.object({ frame, sessionId: z.string().optional() });

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

function applyFaults(control: SimControl, body: z.infer<typeof faultsBody>): void {
  if (body.clear) control.clearFaults();
  if (body.latency !== undefined) {
    const rule = typeof body.latency === 'number' ? { ms: body.latency } : body.latency;
    control.setLatency(rule.ms, rule.path);
  }
  if (body.errorRate) control.setErrorRate(body.errorRate.rate, body.errorRate.status, body.errorRate.path);
  if (body.failWith) control.failWith(body.failWith.status, body.failWith.path, body.failWith.code);
  if (body.hang !== undefined) {
    if (typeof body.hang === 'boolean') control.hang(undefined, body.hang);
    else control.hang(body.hang.path, body.hang.on ?? true);
  }
  if (body.refuseConnections !== undefined) control.refuseConnections(body.refuseConnections);
  if (body.dropStreamAfter !== undefined) control.dropStreamAfter(body.dropStreamAfter);
  if (body.sendErrorFrame !== undefined) {
    const rule = body.sendErrorFrame;
    if (rule === null || typeof rule === 'number') control.sendErrorFrame(rule);
    else control.sendErrorFrame(rule.afterFrames, rule);
  }
  if (body.ignorePings !== undefined) control.ignorePings(body.ignorePings);
  if (body.stallStreamAfter !== undefined) control.stallStreamAfter(body.stallStreamAfter);
  if (body.absent !== undefined) {
    const rule = body.absent;
    if (typeof rule === 'object' && !Array.isArray(rule)) control.absent(rule.path, rule.on ?? true);
    else list(rule).forEach((target) => control.absent(target));
  }
  if (body.present !== undefined) list(body.present).forEach((target) => control.absent(target, false));
  if (body.wsLimitPerIp !== undefined) control.setWsLimitPerIp(body.wsLimitPerIp);
  if (body.stream) control.setStream(body.stream);
}

function applyFixtures(control: SimControl, body: z.infer<typeof fixturesBody>): void {
  for (const [wallet, nfts] of Object.entries(body.nfts ?? {})) control.setNfts(wallet, nfts);
  for (const [wallet, value] of Object.entries(body.staking ?? {})) {
    if (typeof value === 'number') control.setStaking(wallet, value);
    else control.setStaking(wallet, value.bgtStaked, value.stakedSince);
  }
  if (body.knowledge) control.setKnowledge(body.knowledge);
  if (body.oracle) control.setOracle(body.oracle);
  for (const [nftId, value] of Object.entries(body.beauvoir ?? {})) control.setBeauvoir(nftId, value);
  for (const [nftId, entries] of Object.entries(body.evolution ?? {})) control.setEvolution(nftId, entries);
  for (const [address, entry] of Object.entries(body.tba ?? {})) control.setTba(address, entry);
}

async function parse<T>(req: IncomingMessage, res: ServerResponse, schema: z.ZodType<T>): Promise<T | null> {
  const raw = await readJson(req);
  const parsed = raw.ok ? schema.safeParse(raw.value ?? {}) : null;
  if (parsed?.success) return parsed.data;
  sendJson(res, 400, { error: parsed ? z.prettifyError(parsed.error) : 'Invalid JSON body', code: 'INVALID_REQUEST' });
  return null;
}

/** `/__sim/*`: never subject to faults or auth. */
export async function handleControl(control: SimControl, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  const fire = /^POST \/__sim\/cron\/([^/]+)\/fire$/.exec(route);
  if (fire) {
    const body = await parse(req, res, fireBody);
    if (!body) return;
    const cronId = decodeURIComponent(fire[1] ?? '');
    const cron = control.crons.get(cronId);
    if (!cron || cron.deleted) sendJson(res, 404, { error: `Unknown or deleted cronId ${cronId}`, code: 'CRON_NOT_FOUND' });
    else sendJson(res, 200, await control.fireCron(cronId, body));
    return;
  }
  switch (route) {
    case 'GET /__sim/stats': return sendJson(res, 200, control.stats());
    case 'GET /__sim/faults': return sendJson(res, 200, faultsToJson(control.faults));
    case 'GET /__sim/requests': {
      const limit = Number(url.searchParams.get('limit') ?? 100);
      return sendJson(res, 200, { requests: control.requests.slice(-Math.max(1, limit)) });
    }
    case 'GET /__sim/ws': return sendJson(res, 200, { openSockets: control.openSockets(), connections: control.wsConnections });
    case 'GET /__sim/sessions': return sendJson(res, 200, { sessions: [...control.sessions.values()] });
    case 'GET /__sim/crons': return sendJson(res, 200, { crons: [...control.crons.values()], firings: control.cronFirings });
    case 'POST /__sim/reset': control.reset(); return sendJson(res, 200, { ok: true });
  }
  const withBody = <T>(schema: z.ZodType<T>, act: (body: T) => unknown) => async (): Promise<void> => {
    const body = await parse(req, res, schema);
    if (body !== null) sendJson(res, 200, act(body) ?? { ok: true });
  };
  const handlers: Record<string, () => Promise<void>> = {
    'POST /__sim/faults': withBody(faultsBody, (body) => {
      applyFaults(control, body);
      return faultsToJson(control.faults);
    }),
    'POST /__sim/fixtures': withBody(fixturesBody, (body) => applyFixtures(control, body)),
    'POST /__sim/config': withBody(configBody, (body) => {
      if (body.token !== undefined) control.setToken(body.token);
      if (body.callbackSecret !== undefined) control.setCallbackSecret(body.callbackSecret);
    }),
    'POST /__sim/sessions/evict': withBody(evictBody, (body) => control.evictSession(body.id)),
    'POST /__sim/disconnect': withBody(disconnectBody, (body) => control.disconnectAll(body.code, body.reason)),
    'POST /__sim/broadcast': withBody(broadcastBody, (body) => ({ sent: control.broadcast(body.frame, body.sessionId) })),
  };
  const handler = handlers[route];
  if (handler) await handler();
  else sendNotFound(res);
}
