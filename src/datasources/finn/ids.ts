import { dixieError } from '../../errors.js';

const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;
const NFT_ID = /^[A-Za-z0-9_:-]{1,128}$/;

/** Finn treats everything after `/ws/` as the id: reject anything that could change the path. */
export function assertSessionId(id: string): string {
  if (!SESSION_ID.test(id)) throw dixieError('BAD_USER_INPUT', 'Invalid session id', { field: 'sessionId' });
  return id;
}

export function isSessionId(id: string): boolean {
  return SESSION_ID.test(id);
}

export function assertNftId(id: string): string {
  if (!NFT_ID.test(id)) throw dixieError('BAD_USER_INPUT', 'Invalid NFT id', { field: 'nftId' });
  return id;
}

export function isValidNftId(id: string): boolean {
  return NFT_ID.test(id);
}
