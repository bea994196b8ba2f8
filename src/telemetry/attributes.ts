import { createHash } from 'node:crypto';

const WALLET = /0x[0-9a-fA-F]{40}/g;

/** Wallet addresses never appear in telemetry: a short sha256 prefix of the lower-cased address. */
export function hashWallet(address: string): string {
  return `wallet:${createHash('sha256').update(address.toLowerCase()).digest('hex').slice(0, 12)}`;
}

/** `text` with every wallet address replaced by its hash. */
export function redactWallets(text: string): string {
  return text.replace(WALLET, (m) => hashWallet(m));
}

// Finn's path parameters follow these segments (finn.md), except the listed static children.
const PARAM_AFTER = new Map<string, readonly string[]>([
  ['sessions', []],
  ['cron', ['register']],
  ['identity', ['oracle', 'wallet']],
  ['wallet', []],
  ['conviction', []],
]);

/** A bounded label for a Finn path: `/api/identity/wallet/0xAb…/nfts` → `/api/identity/wallet/:id/nfts`. */
export function finnRouteOf(path: string): string {
  const segs = (path.split('?')[0] ?? path).split('/');
  return segs
    .map((seg, i) => {
      if (!seg) return seg;
      const statics = PARAM_AFTER.get(segs[i - 1] ?? '');
      const param = (statics && !statics.includes(seg)) || /^0x[0-9a-f]{40}$/i.test(seg) || seg.length > 40;
      return param ? ':id' : seg;
    })
    .join('/');
}
