import { GraphQLError, Kind, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { dixieError, httpStatusFor, httpStatusOfError, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';

function statusOf(err: GraphQLError): number {
  const explicit = httpStatusOfError(err);
  if (explicit) return explicit;
  const code = err.extensions['code'];
  return typeof code === 'string' ? httpStatusFor(code as ErrorCode) : 500;
}

/**
 * graphql-js reports variables it cannot coerce (missing, null for a non-null type, wrong type) with
 * no code, located at the variable's definition and with no path: the only errors shaped so.
 */
function isVariableError(err: GraphQLError): boolean {
  return err.path === undefined && err.extensions['code'] === undefined && err.nodes?.[0]?.kind === Kind.VARIABLE_DEFINITION;
}

/** graphql.md: invalid arguments are BAD_USER_INPUT naming the field, here the variable (`$id`). */
function asBadUserInput(err: GraphQLError): GraphQLError {
  const node = err.nodes?.[0];
  const field = node?.kind === Kind.VARIABLE_DEFINITION ? `$${node.variable.name.value}` : undefined;
  return new GraphQLError(err.message, { nodes: err.nodes, originalError: err.originalError, extensions: { code: 'BAD_USER_INPUT', field } });
}

/**
 * Codes the variable-coercion errors of an operation that did not start (HTTP, graphql-ws, SSE;
 * queries here, subscriptions in subscriptions.ts). Such a result holds only those errors.
 */
export function codeVariableErrors<R extends ExecutionResult>(r: R): R {
  if (!r.errors?.length || !r.errors.every(isVariableError)) return r;
  return { ...r, errors: r.errors.map(asBadUserInput) };
}

/**
 * graphql.md: the HTTP status follows the error code only when it is the only error and `data` is
 * null; any partial result is a 200. Invalid variables, all reported at once, share BAD_USER_INPUT's.
 */
export function useErrorStatus(): Plugin {
  return {
    onExecute: () => ({
      onExecuteDone({ result, setResult }) {
        if (Symbol.asyncIterator in result) return;
        const original = result as ExecutionResult;
        const r = codeVariableErrors(original);
        const errors = r.errors ?? [];
        // One error, or several that are all invalid variables (codeVariableErrors coded them).
        const oneStatus = errors.length === 1 || (errors.length > 1 && r !== original);
        if (!oneStatus || r.data != null) return;
        setResult({ ...r, extensions: { ...r.extensions, http: { status: statusOf(errors[0]!) } } });
      },
    }),
  };
}

export const CSRF_HEADER = 'x-graphql-csrf';

/** The one GraphQL request a browser cannot send cross-site without a CORS preflight. */
function isJsonPost(request: Request): boolean {
  const mediaType = request.headers.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase();
  return request.method === 'POST' && mediaType === 'application/json';
}

/**
 * graphql.md §Transport: an operation that is not a JSON POST needs a non-empty x-graphql-csrf
 * header, else 403. Replaces yoga's useCSRFPrevention, which waves through every content type it
 * deems preflighted (a GET claiming application/json, a POST of application/graphql) and accepts
 * an empty header. FORBIDDEN is the table's code for 403: the caller may be known, the request
 * is not allowed. GraphiQL's page is served before request parsing, so a browser GET still loads it.
 */
export function useCsrfHeader(): Plugin {
  return {
    onRequestParse({ request }) {
      if (isJsonPost(request) || request.headers.get(CSRF_HEADER)?.trim()) return;
      throw dixieError('FORBIDDEN', `Required CSRF header ${CSRF_HEADER} not present`, {
        reason: 'CSRF_HEADER_REQUIRED',
        http: { status: 403 },
      });
    },
  };
}

/**
 * Duck-typed on purpose: yoga and graphql-tools may load graphql's CommonJS build while Pothos loads
 * the ESM build, and `instanceof` fails across the two.
 */
function isGraphQLErrorLike(e: unknown): e is GraphQLError {
  return e instanceof Error && e.name === 'GraphQLError';
}

/** Unexpected errors are masked for clients and logged here, with the request id. */
export function maskError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    let root: unknown = error;
    while (isGraphQLErrorLike(root) && root.originalError) root = root.originalError;
    if (isGraphQLErrorLike(root)) return error as Error;
    const located = isGraphQLErrorLike(error) ? error : null;
    logger.error(
      {
        event: 'unexpected_error',
        err: root instanceof Error ? { name: root.name, message: root.message, stack: root.stack } : String(root),
        path: located?.path,
      },
      'unexpected error',
    );
    return new GraphQLError(message, { path: located?.path, nodes: located?.nodes, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}
