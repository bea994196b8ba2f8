import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSiweMessage } from 'viem/siwe';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import type { TestDixie } from './dixie.js';

export const SIWE_DOMAIN = 'app.dixie.test';

export function newAccount(): PrivateKeyAccount {
  return privateKeyToAccount(generatePrivateKey());
}

/** A temp folder for an allowlist file; `path` does not exist until written. */
export async function tempAllowlistPath(): Promise<{ dir: string; path: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dixie-allowlist-'));
  return { dir, path: join(dir, 'allowlist.json'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface SiweOverrides {
  domain?: string;
  chainId?: number;
  address?: `0x${string}`;
  expirationTime?: Date;
  notBefore?: Date;
}

/** An EIP-4361 message for `nonce`, signed by `signer` (personal_sign). */
export async function signSiwe(signer: PrivateKeyAccount, nonce: string, o: SiweOverrides = {}): Promise<{ message: string; signature: string }> {
  const message = createSiweMessage({
    domain: o.domain ?? SIWE_DOMAIN,
    address: o.address ?? signer.address,
    statement: 'Sign in to Dixie',
    uri: `https://${o.domain ?? SIWE_DOMAIN}/login`,
    version: '1',
    chainId: o.chainId ?? 80094,
    nonce,
    issuedAt: new Date(),
    ...(o.expirationTime ? { expirationTime: o.expirationTime } : {}),
    ...(o.notBefore ? { notBefore: o.notBefore } : {}),
  });
  return { message, signature: await signer.signMessage({ message }) };
}

export async function fetchNonce(d: TestDixie): Promise<string> {
  const res = await d.gql<{ createSiweNonce: { nonce: string } }>('mutation { createSiweNonce { nonce } }');
  const nonce = res.body.data?.createSiweNonce.nonce;
  if (!nonce) throw new Error(`no nonce: ${JSON.stringify(res.body)}`);
  return nonce;
}

export const SIGN_IN = 'mutation($m: String!, $s: String!) { signIn(message: $m, signature: $s) { token wallet expiresAt } }';

/** The first error's code, or 'OK' when there is none. */
export function codeOf(body: { errors?: Array<{ extensions?: Record<string, unknown> }> }): string {
  const code = body.errors?.[0]?.extensions?.['code'];
  return body.errors?.length ? String(code) : 'OK';
}
