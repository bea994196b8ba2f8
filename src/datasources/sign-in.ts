import { getAddress, verifyMessage, type Hex } from 'viem';
import { parseSiweMessage, validateSiweMessage } from 'viem/siwe';
import type { Config } from '../config.js';
import { dixieError } from '../errors.js';
import { issueWalletToken, type WalletToken } from '../domain/jwt.js';
import type { Logger } from '../logger.js';
import type { AllowlistStore } from './allowlist-file.js';
import type { NonceStore } from './siwe-nonces.js';

export interface SiweNonce {
  nonce: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  domain: string;
  chainIds: number[];
}

export interface SignInService {
  createNonce(): Promise<SiweNonce>;
  signIn(message: string, signature: string): Promise<WalletToken>;
}

const SIGNATURE = /^0x(?:[0-9a-fA-F]{128}|[0-9a-fA-F]{130})$/;

/** Sign-In with Ethereum (EIP-4361) verified with viem; issues Dixie's wallet JWT. */
/** EIP-4361's Issued At is required; viem leaves it undefined or an Invalid Date when it is missing or malformed. */
const isDate = (d: Date | undefined): d is Date => d instanceof Date && !Number.isNaN(d.getTime());

export function createSignIn(deps: {
  config: Pick<Config, 'jwtPrivateKey' | 'siweDomain' | 'siweChainIds'>;
  nonces: NonceStore;
  allowlist: AllowlistStore;
  logger: Logger;
}): SignInService {
  const { config, nonces, allowlist, logger } = deps;
  const reject = (reason: string, message: string) => {
    logger.info({ event: 'sign_in_rejected', reason }, 'sign-in rejected');
    return dixieError('UNAUTHENTICATED', message, { reason });
  };
  const unavailable = (err: unknown) => {
    logger.warn({ event: 'siwe_nonce_store_unavailable', err: err instanceof Error ? err.message : String(err) }, 'nonce store unavailable');
    return dixieError('UPSTREAM_UNAVAILABLE', 'Sign-in is temporarily unavailable', { retryAfter: 5 });
  };

  return {
    async createNonce() {
      const issued = await nonces.issue().catch((err: unknown) => Promise.reject(unavailable(err)));
      return { ...issued, domain: config.siweDomain, chainIds: [...config.siweChainIds] };
    },
    async signIn(message, signature) {
      if (!config.jwtPrivateKey) throw dixieError('FEATURE_DISABLED', 'Sign-in is not configured');
      if (message.length > 4096) throw dixieError('BAD_USER_INPUT', 'The message is too long', { field: 'message' });
      const fields = parseSiweMessage(message);
      if (!fields.address || !fields.domain || !fields.nonce || fields.chainId === undefined || !fields.uri || !isDate(fields.issuedAt)) {
        throw dixieError('BAD_USER_INPUT', 'Not an EIP-4361 message', { field: 'message' });
      }
      // viem parses a time that is no date to an Invalid Date, which every lifetime comparison lets through.
      if ((fields.expirationTime && !isDate(fields.expirationTime)) || (fields.notBefore && !isDate(fields.notBefore))) {
        throw dixieError('BAD_USER_INPUT', 'The message carries a time that is not an RFC 3339 date', { field: 'message' });
      }
      if (fields.domain !== config.siweDomain) throw reject('domain', 'The message names another domain');
      if (!config.siweChainIds.includes(fields.chainId)) throw reject('chain', 'The chain id is not accepted');
      if (!validateSiweMessage({ message: fields, domain: config.siweDomain, time: new Date() })) {
        throw reject('lifetime', 'The message is expired, not yet valid or malformed');
      }
      if (!SIGNATURE.test(signature)) throw reject('signature', 'Invalid signature');
      const valid = await verifyMessage({ address: fields.address, message, signature: signature as Hex }).catch(() => false);
      if (!valid) throw reject('signature', 'Invalid signature');
      const fresh = await nonces.consume(fields.nonce).catch((err: unknown) => Promise.reject(unavailable(err)));
      if (!fresh) throw reject('nonce', 'Unknown, expired or already used nonce');
      const wallet = getAddress(fields.address);
      if (!allowlist.hasWallet(wallet)) {
        logger.info({ event: 'sign_in_rejected', reason: 'not_allowlisted', wallet }, 'sign-in rejected');
        throw dixieError('FORBIDDEN', 'This wallet is not on the allowlist');
      }
      const token = await issueWalletToken(config.jwtPrivateKey, wallet);
      logger.info({ event: 'signed_in', wallet }, 'signed in');
      return token;
    },
  };
}
