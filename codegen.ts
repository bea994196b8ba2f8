/**
 * Prints the code-first schema (sorted) to schema.graphql. `npm run codegen -- --check` fails when
 * the committed file is stale, which .ci/run uses.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './src/schema/index.js';

const target = new URL('./schema.graphql', import.meta.url);
const printed = `${printSchema(lexicographicSortSchema(schema))}\n`;

if (process.argv.includes('--check')) {
  const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
  if (current !== printed) {
    console.error('schema.graphql is stale: run `npm run codegen` and commit the result.');
    process.exit(1);
  }
  console.log('schema.graphql is current.');
} else {
  writeFileSync(target, printed);
  console.log('wrote schema.graphql');
}
