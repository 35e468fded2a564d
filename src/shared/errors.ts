/**
 * The closed set of top-level error codes, the builders for them, and the one `formatError`
 * that masks everything unexpected. Business and validation failures are not errors here:
 * they travel in payloads as `userErrors`.
 */
import { GraphQLError } from 'graphql';
import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { HeaderMap } from '@apollo/server';

export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  BAD_REQUEST: 'BAD_REQUEST',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** The API key's rate-limit bucket cannot take this query's cost yet (HTTP 429, Retry-After). */
  THROTTLED: 'THROTTLED',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** The Idempotency-Key was used before with a different request (HTTP 422). */
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  /** Another request holds the resource (an Idempotency-Key in flight); retry (HTTP 409, Retry-After). */
  CONFLICT: 'CONFLICT',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

export const INTERNAL_MESSAGE = 'Internal server error. Quote the requestId when reporting it.';

export function badUserInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, ...(argument ? { argument } : {}) },
  });
}

/** The database is locked by another writer past the wait budget: nothing was written; retry (HTTP 503). */
export function storeBusy(waitedMs: number): GraphQLError {
  return new GraphQLError(`The database stayed locked by another writer for ${waitedMs} ms; nothing was written. Retry.`, {
    extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, reason: 'DATABASE_BUSY', http: { status: 503, headers: new HeaderMap([['retry-after', '1']]) } },
  });
}

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } },
  });
}

/** Whether an error was raised deliberately with one of our codes (and so is safe to show). */
export function isExpected(error: unknown): boolean {
  const original = unwrapResolverError(error);
  const code = original instanceof GraphQLError ? original.extensions.code : undefined;
  return typeof code === 'string' && KNOWN_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR;
}

/**
 * Apollo's `formatError`: known client errors pass through (without stack traces); anything
 * else becomes INTERNAL_SERVER_ERROR with a fixed message. The request id is added by the
 * logging plugin, which also logs the original error.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && KNOWN_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
    if (code === ErrorCode.GRAPHQL_VALIDATION_FAILED || code === ErrorCode.GRAPHQL_PARSE_FAILED || isExpected(error)) {
      const { stacktrace, ...extensions } = formatted.extensions ?? {};
      void stacktrace;
      return { ...formatted, extensions };
    }
  }
  const requestId = formatted.extensions?.requestId;
  return {
    message: INTERNAL_MESSAGE,
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, ...(typeof requestId === 'string' ? { requestId } : {}) },
  };
}
