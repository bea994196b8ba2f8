import type { Tier } from '../config.js';

export type Viewer =
  /** `invalidCredentials`: credentials were presented but rejected (bad/expired JWT, unknown key, failed TBA). */
  | { kind: 'anonymous'; invalidCredentials?: boolean }
  | { kind: 'admin' }
  | { kind: 'service'; apiKey: string }
  | { kind: 'wallet'; wallet: string; tokenExpiresAt: number }
  | { kind: 'agent'; tbaAddress: string; ownerWallet: string; nftId: string };

export const ANONYMOUS: Viewer = { kind: 'anonymous' };
export const INVALID_CREDENTIALS: Viewer = Object.freeze({ kind: 'anonymous', invalidCredentials: true });

/** The wallet whose tier and ownership apply: a wallet's own, or an agent's owner. */
export function actingWallet(viewer: Viewer): string | null {
  if (viewer.kind === 'wallet') return viewer.wallet;
  if (viewer.kind === 'agent') return viewer.ownerWallet;
  return null;
}

export type { Tier };
