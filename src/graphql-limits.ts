import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { NoSchemaIntrospectionCustomRule, type ExecutionArgs, type ExecutionResult, type GraphQLError, type ValidationContext } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { dixieError } from './errors.js';

/** graphql.md "Limits". */
export const QUERY_LIMITS = Object.freeze({ depth: 10, aliases: 15, tokens: 2000, directives: 50, documentChars: 15_000 });

/** Validation errors are 200 for plain JSON clients unless the status is explicit (spec: false). */
export function tooComplex(message: string): GraphQLError {
  return dixieError('QUERY_TOO_COMPLEX', message, { http: { status: 400, spec: false } });
}

/** graphql-armor reports through callbacks so the error carries our code instead of a bare "Syntax Error". */
function onReject(ctx: ValidationContext | null, err: GraphQLError): void {
  const coded = tooComplex(err.message.replace(/^Syntax Error:\s*/, ''));
  if (ctx) ctx.reportError(coded);
  else throw coded; // the token counter runs inside the parser: abort parsing
}

export function useQueryLimits(): Plugin[] {
  const cb = { onReject: [onReject], propagateOnRejection: false, exposeLimits: true };
  const armor = EnvelopArmorPlugin({
    // Its regex misses enum values and never sees variable errors: useNoSuggestions does this in production.
    blockFieldSuggestion: { enabled: false },
    costLimit: { enabled: false },
    maxTokens: { n: QUERY_LIMITS.tokens, ...cb },
    maxDirectives: { n: QUERY_LIMITS.directives, ...cb },
    // graphql.md: aliases ≤ 15, with no exception (graphql-armor would not count `__typename` ones).
    maxAliases: { n: QUERY_LIMITS.aliases, allowList: [], ...cb },
    // __schema (GraphiQL's introspection) is not counted; __type nesting is. Fragments add no level.
    maxDepth: { n: QUERY_LIMITS.depth, ignoreIntrospection: true, flattenFragments: true, ...cb },
  });
  const documentSize: Plugin = {
    onParse({ params }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      if (source.length > QUERY_LIMITS.documentChars) throw tooComplex(`Query document exceeds ${QUERY_LIMITS.documentChars} characters`);
    },
  };
  return [documentSize, armor as Plugin];
}

/**
 * Production: no schema introspection, over HTTP and graphql-ws alike. yoga's
 * useDisableIntrospection marks a request in onRequestParse, which an operation arriving over
 * graphql-ws never passes, so introspection stayed open there; graphql-js's own rule, added to
 * every validation, has no such gap.
 */
export function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/** " Did you mean …?" as graphql-js and graphql-tools write it; the names it quotes hold no "?". */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/**
 * @graphql-tools/executor, yoga's executor, does not pass hideSuggestions on to an enum's
 * parseValue under graphql 16: a variable's unknown enum value still gets "Did you mean the enum
 * value …?". The errors are the operation's own, so they are edited in place.
 */
function stripSuggestions(result: ExecutionResult | AsyncIterable<unknown>): void {
  if (isAsyncIterable(result)) return;
  for (const err of result.errors ?? []) {
    const message = err.message.replace(SUGGESTION, '');
    if (message !== err.message) err.message = message;
  }
}

/**
 * Production (graphql.md): no "Did you mean …" in any message, over HTTP and graphql-ws alike.
 * graphql-js omits suggestions when asked, in validation and in the coercion of variables. The
 * args are the operation's own object: envelop passes it to later hooks and to the executor, and
 * useSubscriptions hands it to createSourceEventStream itself.
 */
export function useNoSuggestions(): Plugin {
  // envelop types the args without graphql-js's newer options.
  const hidden = { hideSuggestions: true } satisfies Pick<ExecutionArgs, 'hideSuggestions'>;
  return {
    onValidate({ validateFn, setValidationFn }) {
      setValidationFn((schema, document, rules) => validateFn(schema, document, rules, hidden));
    },
    onExecute({ args }) {
      Object.assign(args, hidden);
      return { onExecuteDone: ({ result }) => stripSuggestions(result) };
    },
    onSubscribe({ args }) {
      Object.assign(args, hidden);
      return { onSubscribeResult: ({ result }) => stripSuggestions(result) };
    },
  };
}
