import { createHash } from 'node:crypto';
import { parse, print, type DocumentNode } from 'graphql';

/** The build-time manifest (scripts/build-trusted-documents.ts): sha256 of the normalised document → its source. */
export interface TrustedDocumentManifest {
  version: 1;
  documents: Record<string, { name: string | null; file: string }>;
}

/** Normalised form: graphql-js `print` (canonical whitespace, no comments, no commas). */
export function normaliseDocument(doc: DocumentNode | string): string {
  return print(typeof doc === 'string' ? parse(doc) : doc);
}

export function documentHash(doc: DocumentNode | string): string {
  return createHash('sha256').update(normaliseDocument(doc)).digest('hex');
}
