import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDixie, type TestDixie } from '../helpers/dixie.js';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { tempAllowlistPath } from '../helpers/siwe.js';

const query = 'query($id: ID!) { personality(nftId: $id) { __typename } }';

describe('NFT ownership lookups (Finn B3) are cached per wallet for DIXIE_NFT_OWNERSHIP_TTL', () => {
  let d: TestDixie;
  const wallet = newWallet();
  beforeAll(async () => {
    const file = await tempAllowlistPath();
    await writeAllowlist(file.path, [wallet]);
    d = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: file.path, DIXIE_RATE_LIMIT_RPM: '0', DIXIE_NFT_OWNERSHIP_TTL: '60' } });
    d.sim.control.setNfts(wallet, [{ nftId: 'mibera:7', contractAddress: '0x6666397dfe9a8c469bf65dc744cb1c733416c420', tokenId: '7' }]);
  });
  afterAll(async () => d?.stop());

  it('asks Finn once across requests, and the viewer sees its NFTs', async () => {
    const b3 = () => d.sim.control.requests.filter((r) => r.route === 'nfts').length;
    const auth = await walletAuth(wallet);
    const before = b3();
    for (let i = 0; i < 3; i++) {
      const res = await d.gql<{ viewer: { nfts: Array<{ nftId: string }> } }>('{ viewer { nfts { nftId } } }', {}, auth);
      expect(res.body.data?.viewer.nfts.map((n) => n.nftId)).toEqual(['mibera:7']);
    }
    expect(b3() - before).toBeLessThanOrEqual(1);
    expect((await d.gql(query, { id: 'mibera:7' }, auth)).status).toBe(200);
  });
});
