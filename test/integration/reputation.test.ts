import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { streamNameFor } from '../../src/datasources/nats-durable.js';
import { giveWallet, sql } from '../helpers/schedules.js';
import { createTestSchema, NATS_URL, uniqueTag } from '../helpers/services.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

const tag = uniqueTag('reputation');
const builderWallet = newWallet();
const participant = newWallet();
let sim: FinnSim;
let a: TestDixie;
let b: TestDixie;
let nc: NatsConnection;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let opts: Parameters<typeof startDixie>[0];

function publish(data: unknown, msgId?: string): void {
  const h = natsHeaders();
  if (msgId) h.set('Nats-Msg-Id', msgId);
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  nc.publish(`${tag}.dixie.signal.quality`, new TextEncoder().encode(payload), { headers: h });
}

async function samples(nftId: string): Promise<number> {
  const rows = await sql<{ sample_count: number }>(schema.url, 'SELECT sample_count FROM reputation_aggregates WHERE nft_id = $1', [nftId]);
  return rows[0]?.sample_count ?? 0;
}

const logsOf = (event: string) => [...a.logs, ...b.logs].filter((l) => l.event === event);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-rep-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [builderWallet, participant]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  giveWallet(sim, builderWallet, 100);
  giveWallet(sim, participant, 1);
  nc = await connect({ servers: NATS_URL });
  const env = { DATABASE_URL: schema.url, NATS_URL, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json') };
  opts = { sim, env, natsSubjectPrefix: `${tag}.`, health: { infraProbeTtlMs: 20 } };
  a = await startDixie(opts);
  b = await startDixie(opts);
  // Both consumers are subscribed once a probe signal gets through.
  let n = 0;
  await waitFor(async () => {
    publish({ nftId: 'probe', score: 0.5 }, `probe-${n++}`);
    return (await samples('probe')) > 0;
  }, { intervalMs: 100, what: 'reputation consumers up' });
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  if (nc) {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(streamNameFor(`${tag}.dixie.signal.quality`)).catch(() => undefined);
    await nc.close();
  }
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('dixie.signal.quality consumer', () => {
  it('applies a signal published twice with the same message id once', async () => {
    publish({ nftId: 'dup:1', score: 0.8, taskType: 'chat' }, 'sig-dup-1');
    publish({ nftId: 'dup:1', score: 0.8, taskType: 'chat' }, 'sig-dup-1');
    await waitFor(async () => (await samples('dup:1')) >= 1, { what: 'the signal applied' });
    // Two instances pull from the queue: wait until it holds nothing undelivered or unacknowledged.
    await waitFor(async () => {
      const info = await (await nc.jetstreamManager()).consumers.info(streamNameFor(`${tag}.dixie.signal.quality`), 'dixie-reputation');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, { what: 'the queue drained' });
    expect(await samples('dup:1')).toBe(1);
    // A copy that gets past the stream's duplicate window (a redelivery after a lost ack) stops at the msg-id table.
    const again = await a.server.ds.reputation.handle({ nftId: 'dup:1', score: 0.8, taskType: 'chat' }, { msgId: 'sig-dup-1' });
    expect(again).toBe('duplicate');
    expect(await samples('dup:1')).toBe(1);
    const [row] = await sql(schema.url, 'SELECT score_sum, personal_score, state FROM reputation_aggregates WHERE nft_id = $1', ['dup:1']);
    expect(row).toMatchObject({ score_sum: 0.8, personal_score: 0.8, state: 'COLD' });
  });

  it('drops invalid messages with a logged reason and keeps consuming', async () => {
    publish('not json', 'bad-0');
    publish({ nftId: 'ok:1', score: 1.5 }, 'bad-1');
    publish({ nftId: 'bad/id', score: 0.5 }, 'bad-2');
    publish({ nftId: 'ok:1', score: 0.25 }, 'good-1');
    await waitFor(async () => (await samples('ok:1')) === 1, { what: 'the valid signal' });
    await waitFor(() => logsOf('quality_signal_dropped').length >= 2, { what: 'drops logged' });
    expect(logsOf('quality_signal_dropped').map((l) => l.reason).sort()).toEqual(['invalid_nft_id', 'invalid_score']);
    expect(logsOf('nats_bad_message').length).toBeGreaterThanOrEqual(1);
  });

  it('applies a signal published without a message id (domain.md names none) once, through a failed first delivery', async () => {
    await sql(schema.url, 'ALTER TABLE reputation_aggregates RENAME TO reputation_aggregates_off');
    try {
      publish({ nftId: 'noid:1', score: 0.6, taskType: 'chat' });
      await waitFor(() => logsOf('quality_signal_failed').some((l) => typeof l.msg_id === 'string' && l.msg_id.startsWith('js:')), { what: 'the failed attempt' });
    } finally {
      await sql(schema.url, 'ALTER TABLE reputation_aggregates_off RENAME TO reputation_aggregates');
    }
    await waitFor(async () => (await samples('noid:1')) === 1, { timeoutMs: 15_000, what: 'the signal delivered again' });
    await waitFor(async () => {
      const info = await (await nc.jetstreamManager()).consumers.info(streamNameFor(`${tag}.dixie.signal.quality`), 'dixie-reputation');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, { what: 'the queue drained' });
    expect(await samples('noid:1')).toBe(1);
    // Every delivery of it carried the same name: its place in the stream.
    const names = new Set(logsOf('quality_signal_failed').map((l) => l.msg_id).filter((id) => typeof id === 'string' && id.startsWith('js:')));
    expect(names.size).toBe(1);
    const [applied] = await sql<{ n: number }>(schema.url, "SELECT count(*)::int AS n FROM reputation_signals WHERE msg_id LIKE 'js:%'");
    expect(applied!.n).toBeGreaterThanOrEqual(1);
  });

  it('delivers a signal again when applying it failed, and applies it once', async () => {
    await sql(schema.url, 'ALTER TABLE reputation_aggregates RENAME TO reputation_aggregates_off');
    try {
      publish({ nftId: 'retry:1', score: 0.4 }, 'sig-retry-1');
      await waitFor(() => logsOf('quality_signal_failed').some((l) => l.msg_id === 'sig-retry-1'), { what: 'the failed attempt' });
    } finally {
      await sql(schema.url, 'ALTER TABLE reputation_aggregates_off RENAME TO reputation_aggregates');
    }
    await waitFor(async () => (await samples('retry:1')) === 1, { timeoutMs: 15_000, what: 'the signal delivered again' });
    expect(logsOf('nats_message_abandoned')).toEqual([]);
  });

  it('aggregates per NFT: mean, collection mean, blend and state', async () => {
    const scores = [0.9, 0.7, 1, 0.8, 0.6, 0.9];
    scores.forEach((score, i) => publish({ nftId: 'agg:1', score, taskType: 'chat' }, `agg1-${i}`));
    publish({ nftId: 'agg:2', score: 0.2 }, 'agg2-0');
    await waitFor(async () => (await samples('agg:1')) === 6 && (await samples('agg:2')) === 1, { what: 'aggregates' });

    const rows = await sql<{ m: number }>(schema.url, 'SELECT score_sum / sample_count AS m FROM reputation_aggregates WHERE sample_count > 0');
    const collection = rows.reduce((s, r) => s + r.m, 0) / rows.length;
    const personal = scores.reduce((s, x) => s + x, 0) / scores.length;
    const q = 'query($n: ID!) { reputation(nftId: $n) { nftId state personalScore collectionScore blendedScore sampleCount updatedAt } }';
    const res = await b.gql<{ reputation: Record<string, number | string> }>(q, { n: 'agg:1' }, await walletAuth(builderWallet));
    expect(res.body.errors).toBeUndefined();
    const rep = res.body.data!.reputation;
    expect(rep).toMatchObject({ nftId: 'agg:1', state: 'WARMING', sampleCount: 6 });
    expect(rep.personalScore).toBeCloseTo(personal, 10);
    expect(rep.collectionScore).toBeCloseTo(collection, 10);
    expect(rep.blendedScore).toBeCloseTo((3 * collection + 6 * personal) / 9, 10);

    const none = await a.gql<{ reputation: Record<string, unknown> }>(q, { n: 'never:1' }, await walletAuth(builderWallet));
    expect(none.body.data!.reputation).toMatchObject({ state: 'COLD', sampleCount: 0, personalScore: null, updatedAt: null });
    expect(none.body.data!.reputation.blendedScore).toBeCloseTo(collection, 10);
  });

  it('needs tier BUILDER', async () => {
    const res = await a.gql('query { reputation(nftId: "agg:1") { state } }', {}, await walletAuth(participant));
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredTier: 'BUILDER' });
    const anon = await a.gql('query { reputation(nftId: "agg:1") { state } }');
    expect(anon.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('keeps the signals published while no instance runs, for the next one to apply', async () => {
    await a.stop();
    await b.stop();
    publish({ nftId: 'offline:1', score: 0.7 }, 'sig-offline-1');
    publish({ nftId: 'offline:1', score: 0.9 }, 'sig-offline-2');
    a = await startDixie(opts);
    b = await startDixie(opts);
    await waitFor(async () => (await samples('offline:1')) === 2, { timeoutMs: 10_000, what: 'the signals published while down' });
  });

  it('reports the aggregate count in /api/health', async () => {
    const [row] = await sql<{ n: string }>(schema.url, 'SELECT count(*) AS n FROM reputation_aggregates');
    await waitFor(async () => {
      const body = (await (await fetch(`${a.url}/api/health`)).json()) as { reputation_service: { initialized: boolean; aggregate_count: number } };
      return body.reputation_service.initialized && body.reputation_service.aggregate_count === Number(row!.n);
    }, { what: 'aggregate_count' });
  });
});

describe('dixie.signal.quality without a work queue of its own', () => {
  it('falls back to a plain subscription when another stream holds the subject, and still applies signals', async () => {
    const other = uniqueTag('rep_other');
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: `FOREIGN_${other.toUpperCase()}`, subjects: [`${other}.dixie.signal.quality`] });
    const d = await startDixie({ ...opts, natsSubjectPrefix: `${other}.` });
    try {
      await waitFor(() => d.logs.some((l) => l.event === 'nats_jetstream_unavailable'), { what: 'the fallback logged' });
      let n = 0;
      await waitFor(async () => {
        const h = natsHeaders();
        h.set('Nats-Msg-Id', `fallback-${n++}`);
        nc.publish(`${other}.dixie.signal.quality`, new TextEncoder().encode(JSON.stringify({ nftId: 'fallback:1', score: 0.5 })), { headers: h });
        return (await samples('fallback:1')) > 0;
      }, { intervalMs: 100, what: 'a signal applied through the plain subscription' });
      // Without a stream of its own nothing dedupes before Dixie: its msg-id table applies a twice-published signal once.
      const send = (nftId: string, id: string) => {
        const h = natsHeaders();
        h.set('Nats-Msg-Id', id);
        nc.publish(`${other}.dixie.signal.quality`, new TextEncoder().encode(JSON.stringify({ nftId, score: 0.5 })), { headers: h });
      };
      send('fallback:2', 'fallback-dup');
      send('fallback:2', 'fallback-dup');
      send('fallback:3', 'fallback-after');
      await waitFor(async () => (await samples('fallback:3')) === 1 && (await samples('fallback:2')) >= 1, { what: 'the signals applied' });
      await new Promise((r) => setTimeout(r, 300));
      expect(await samples('fallback:2')).toBe(1);
      expect(d.logs.filter((l) => l.event === 'quality_signal_duplicate' || (l.event === 'quality_signal_applied' && l.nft_id === 'fallback:2'))).toHaveLength(2);
    } finally {
      await d.stop();
      await jsm.streams.delete(`FOREIGN_${other.toUpperCase()}`);
    }
  });
});
