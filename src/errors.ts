import { GraphQLError } from 'graphql';

export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'RATE_LIMITED',
  'USAGE_LIMIT',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_ERROR',
  'FEATURE_DISABLED',
  'QUERY_TOO_COMPLEX',
  'INTERNAL_SERVER_ERROR',
  'UNTRUSTED_DOCUMENT',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 200,
  RATE_LIMITED: 429,
  USAGE_LIMIT: 402,
  UPSTREAM_UNAVAILABLE: 503,
  UPSTREAM_ERROR: 502,
  FEATURE_DISABLED: 200,
  QUERY_TOO_COMPLEX: 400,
  INTERNAL_SERVER_ERROR: 500,
  /** DIXIE_TRUSTED_DOCUMENTS=enforce and the document is not in the build's manifest. */
  UNTRUSTED_DOCUMENT: 400,
};

/** The one mapping from an error code to an HTTP status, shared by GraphQL and REST. */
export function httpStatusFor(code: ErrorCode): number {
  return STATUS[code];
}

export type ErrorExtensions = Record<string, unknown> & { httpStatus?: number };

/** An expected failure: passes error masking with its code and safe message. */
export class DixieError extends GraphQLError {
  /** The HTTP status when this is the only error of a response (not serialised). */
  readonly httpStatus: number;
  constructor(code: ErrorCode, message: string, extensions: ErrorExtensions = {}) {
    const { httpStatus, ...rest } = extensions;
    super(message, { extensions: { code, ...rest } });
    this.httpStatus = httpStatus ?? httpStatusFor(code);
  }
}

export function dixieError(code: ErrorCode, message: string, extensions: ErrorExtensions = {}): DixieError {
  return new DixieError(code, message, extensions);
}

/**
 * Rethrows a coded error with its status in `extensions.http`, where yoga reads it, for failures
 * that end an HTTP request before execution (useErrorStatus never sees those).
 */
export function rethrowWithHttpStatus(err: unknown): never {
  if (!(err instanceof DixieError)) throw err;
  const { code, ...rest } = err.extensions;
  throw new DixieError(code as ErrorCode, err.message, { ...rest, http: { status: err.httpStatus }, httpStatus: err.httpStatus });
}

/** The status an error asks for, looking through graphql-js's located-error wrapper. */
export function httpStatusOfError(err: GraphQLError): number | undefined {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof DixieError) return e.httpStatus;
    e = (e as GraphQLError).originalError;
  }
  return undefined;
}

export function errorCodeOf(err: unknown): ErrorCode | undefined {
  if (err instanceof Error && err.name === 'GraphQLError') {
    const code = (err as GraphQLError).extensions['code'];
    if (typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code)) return code as ErrorCode;
  }
  return undefined;
}
