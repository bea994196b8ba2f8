import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { SignJWT } from 'jose';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { TEST_JWT_KEY } from './dixie.js';

/** A fresh EIP-55 wallet address. */
export function newWallet(): string {
  return privateKeyToAccount(generatePrivateKey()).address;
}

/** A wallet JWT exactly as Dixie issues it (domain.md): HS256, sub = wallet, iss = aud = dixie-bff, 1 h. */
export async function walletToken(wallet: string, opts: { key?: string; ttlS?: number; issuedAgoS?: number } = {}): Promise<string> {
  const iat = Math.floor(Date.now() / 1000) - (opts.issuedAgoS ?? 0);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(wallet)
    .setIssuer('dixie-bff')
    .setAudience('dixie-bff')
    .setIssuedAt(iat)
    .setExpirationTime(iat + (opts.ttlS ?? 3600))
    .setJti(randomUUID())
    .sign(new TextEncoder().encode(opts.key ?? TEST_JWT_KEY));
}

/** `{ authorization: 'Bearer <jwt>' }` for `gql()` headers or a graphql-ws connection_init payload. */
export async function walletAuth(wallet: string): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${await walletToken(wallet)}` };
}

/** Writes the allowlist file DIXIE_ALLOWLIST_PATH points at. */
export async function writeAllowlist(path: string, wallets: string[], apiKeys: string[] = []): Promise<void> {
  await writeFile(path, JSON.stringify({ version: 1, wallets, apiKeys, updated_at: new Date().toISOString() }));
}
