import type { DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from './config.js';
import { documentHash, type TrustedDocumentManifest } from './domain/trusted-documents.js';
import { dixieError } from './errors.js';
import built from './generated/trusted-documents.json' with { type: 'json' };
import type { Logger } from './logger.js';

export const BUILT_MANIFEST: TrustedDocumentManifest = built as TrustedDocumentManifest;

/**
 * DIXIE_TRUSTED_DOCUMENTS: `log` reports documents missing from the build's manifest, `enforce`
 * rejects them before execution. Runs on HTTP, SSE and WebSocket (all validate through yoga).
 */
export function useTrustedDocuments(mode: Config['trustedDocuments'], logger: Logger, manifest = BUILT_MANIFEST): Plugin {
  if (mode === 'off') return {};
  const hashes = new WeakMap<DocumentNode, string>();
  const logged = new Set<string>();
  return {
    onValidate({ params, setResult }) {
      const doc = params.documentAST;
      let hash = hashes.get(doc);
      if (!hash) {
        hash = documentHash(doc);
        hashes.set(doc, hash);
      }
      if (manifest.documents[hash]) return;
      if (mode === 'log') {
        if (logged.size < 10_000 && !logged.has(hash)) {
          logged.add(hash);
          logger.warn({ event: 'untrusted_document', hash }, 'operation document not in the trusted manifest');
        }
        return;
      }
      setResult([dixieError('UNTRUSTED_DOCUMENT', 'Only trusted operation documents are accepted', { hash, http: { status: 400, spec: false } })]);
    },
  };
}
