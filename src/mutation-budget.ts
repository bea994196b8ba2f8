import { getOperationAST, Kind, type DocumentNode, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from './context.js';
import { dixieError } from './errors.js';
import { viewerRateIdentity } from './rest/rate-limit.js';

/** Root fields of the mutation the request runs (aliases and fragments included); 0 for a query or subscription. */
export function mutationRootFields(document: DocumentNode, operationName?: string | null): number {
  const op = getOperationAST(document, operationName);
  if (op?.operation !== 'mutation') return 0;
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])));
  const count = (set: SelectionSetNode, seen: Set<string>): number =>
    set.selections.reduce((n, s) => {
      if (s.kind === Kind.FIELD) return n + 1;
      if (s.kind === Kind.INLINE_FRAGMENT) return n + count(s.selectionSet, seen);
      const fragment = fragments.get(s.name.value);
      if (!fragment || seen.has(s.name.value)) return n;
      return n + count(fragment, new Set([...seen, s.name.value]));
    }, 0);
  return count(op.selectionSet, new Set());
}

/**
 * A request spends one unit of its caller's rate budget; a mutation spends one more for every root
 * field past the first, so that 15 aliased startChat calls cost what 15 requests cost (Finn keeps
 * a bounded number of sessions, and one wallet must not be able to fill them in a few requests).
 */
export function useMutationFieldBudget(): Plugin<Context> {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const extra = mutationRootFields(args.document, args.operationName) - 1;
      const ctx = args.contextValue as Context;
      if (extra <= 0 || ctx.ds.rateLimiter.limit <= 0) return;
      const identity = viewerRateIdentity(ctx.viewer, ctx.clientIp, ctx.ds.config.adminKey);
      for (let i = 0; i < extra; i++) {
        const verdict = await ctx.ds.rateLimiter.check(identity);
        if (verdict && !verdict.allowed) {
          setResultAndStopExecution({ errors: [dixieError('RATE_LIMITED', 'Too many requests (each root field of a mutation counts)', { retryAfter: verdict.retryAfterS })] });
          return;
        }
      }
    },
  };
}
