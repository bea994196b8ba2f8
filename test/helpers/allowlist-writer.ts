/**
 * Child process for the crash test: adds wallets to the allowlist at argv[2] in a loop and
 * prints the count after each durable write, until it is killed.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createAllowlistStore } from '../../src/datasources/allowlist-file.js';
import { createLogger } from '../../src/logger.js';

const path = process.argv[2];
if (!path) throw new Error('usage: allowlist-writer <path>');
const store = await createAllowlistStore({ path, logger: createLogger('error'), pollMs: 60_000 });
for (let i = 1; ; i++) {
  await store.add('wallet', privateKeyToAccount(generatePrivateKey()).address);
  process.stdout.write(`${i}\n`);
}
