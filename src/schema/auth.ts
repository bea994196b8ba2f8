import type { SiweNonce as SiweNonceModel } from '../datasources/sign-in.js';
import type { WalletToken } from '../domain/jwt.js';
import { builder } from './builder.js';

export const SiweNonce = builder.objectRef<SiweNonceModel>('SiweNonce').implement({
  description: 'A single-use Sign-In with Ethereum nonce, valid for 5 minutes',
  fields: (t) => ({
    nonce: t.exposeString('nonce'),
    expiresAt: t.field({ type: 'DateTime', resolve: (n) => new Date(n.expiresAt) }),
    domain: t.exposeString('domain', { description: 'The domain the SIWE message must name' }),
    chainIds: t.exposeIntList('chainIds', { description: 'Accepted chain ids' }),
  }),
});

export const AuthPayload = builder.objectRef<WalletToken>('AuthPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'HS256 JWT; send as `Authorization: Bearer <token>`' }),
    wallet: t.exposeString('wallet', { description: 'EIP-55 checksummed' }),
    expiresAt: t.field({ type: 'DateTime', resolve: (p) => new Date(p.expiresAt) }),
  }),
});
