/**
 * Writes src/generated/trusted-documents.json: sha256 of every normalised operation document in
 * test/operations (and any folder given as an argument) → its operation name and file. Each
 * document is validated against the schema so a stale operation fails the build.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, validate, type OperationDefinitionNode } from 'graphql';
import { documentHash, type TrustedDocumentManifest } from '../src/domain/trusted-documents.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const folders = [join(root, 'test/operations'), ...process.argv.slice(2).filter((a) => !a.startsWith('--')).map((f) => resolve(f))];
const out = join(root, 'src/generated/trusted-documents.json');

const { schema } = await import('../src/schema/index.js');
const manifest: TrustedDocumentManifest = { version: 1, documents: {} };
const problems: string[] = [];

for (const folder of folders) {
  for (const name of readdirSync(folder).filter((f) => f.endsWith('.graphql')).sort()) {
    const file = relative(root, join(folder, name));
    const doc = parse(readFileSync(join(folder, name), 'utf8'));
    for (const e of validate(schema, doc)) problems.push(`${file}: ${e.message}`);
    const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
    manifest.documents[documentHash(doc)] = { name: op?.name?.value ?? null, file };
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`trusted documents: ${Object.keys(manifest.documents).length} → ${relative(root, out)}`);
process.exit(0);
