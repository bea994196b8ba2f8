import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, type TestDixie } from '../helpers/dixie.js';
import { giveWallet } from '../helpers/schedules.js';
import { REDIS_URL, uniqueTag } from '../helpers/services.js';
import { tempAllowlistPath } from '../helpers/siwe.js';

const tag = uniqueTag('cache_shape');
const wallet = newWallet();
const VIEWER = '{ viewer { conviction { tier bgtStaked source modelPool } nfts { nftId ownerWallet } } }';
type ViewerJson = { viewer: { conviction: { tier: string; bgtStaked: number | null; source: string; modelPool: string }; nfts: Array<{ nftId: string; ownerWallet: string }> } };

let d: TestDixie;
let redis: Redis;
let file: Awaited<ReturnType<typeof tempAllowlistPath>>;

beforeAll(async () => {
  file = await tempAllowlistPath();
  await writeAllowlist(file.path, [wallet]);
  redis = new Redis(REDIS_URL, { keyPrefix: `${tag}:` });
  d = await startDixie({ env: { REDIS_URL, DIXIE_ALLOWLIST_PATH: file.path }, redisKeyPrefix: `${tag}:` });
  giveWallet(d.sim, wallet, 1_500, ['mibera:88']);
});

afterAll(async () => {
  await d?.stop();
  redis?.disconnect();
  await file?.cleanup();
});

describe('values read back from the shared cache', () => {
  it('treats a value of another shape, or no JSON at all, as a miss: logged, replaced, never served', async () => {
    const w = wallet.toLowerCase();
    // As another release (or a hand edit) might have left them under the same keys.
    await redis.set(`cache:conviction:v1:${w}`, JSON.stringify({ tier: 'EMPEROR', bgtStaked: 1, source: 'STAKING', modelPool: 'pool_premium' }), 'EX', 600);
    await redis.set(`cache:nfts:v1:${w}`, 'not json', 'EX', 600);

    const res = await d.gql<ViewerJson>(VIEWER, {}, await walletAuth(wallet));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.viewer.conviction).toEqual({ tier: 'ARCHITECT', bgtStaked: 1_500, source: 'STAKING', modelPool: 'pool_premium' });
    expect(res.body.data!.viewer.nfts.map((n) => n.nftId)).toEqual(['mibera:88']);

    const invalid = d.logs.filter((l) => l.event === 'cache_value_invalid').map((l) => l.key);
    expect(invalid).toEqual(expect.arrayContaining([`conviction:v1:${w}`, `nfts:v1:${w}`]));
    expect(JSON.parse((await redis.get(`cache:conviction:v1:${w}`))!)).toMatchObject({ tier: 'ARCHITECT' });
    expect(JSON.parse((await redis.get(`cache:nfts:v1:${w}`))!)).toEqual([expect.objectContaining({ nftId: 'mibera:88' })]);
  });
});
