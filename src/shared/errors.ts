/**
 * The one place errors are built and shaped: the closed set of top-level error codes, the HTTP
 * status of each, a builder per kind of error, the one JSON error body the HTTP front writes
 * itself, and the one `formatError` that gives every GraphQL error its final shape. Business
 * and validation failures are not errors here: they travel in payloads as `userErrors`.
 */
import { HeaderMap } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';

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

/**
 * The HTTP status of a request refused with this code. An error raised inside a field
 * (BAD_USER_INPUT from a resolver, say) does not refuse the request: its response keeps the
 * status GraphQL over HTTP gives a partial result, so badUserInput carries no status.
 * Apollo answers its persisted-query errors with 200 so clients retry with the full query.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  GRAPHQL_PARSE_FAILED: 400,
  BAD_REQUEST: 400,
  QUERY_TOO_COMPLEX: 400,
  THROTTLED: 429,
  PERSISTED_QUERY_NOT_FOUND: 200,
  PERSISTED_QUERY_NOT_SUPPORTED: 200,
  OPERATION_RESOLUTION_FAILURE: 400,
  SERVICE_UNAVAILABLE: 503,
  IDEMPOTENCY_KEY_REUSED: 422,
  CONFLICT: 409,
  INTERNAL_SERVER_ERROR: 500,
};

const INTERNAL_MESSAGE = 'Internal server error. Quote the requestId when reporting it.';

/** The message of anything thrown: an Error's own message, anything else as a string. */
export function messageOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(HTTP_STATUS, code);
}

/** An error that refuses the whole request: Apollo answers with the table's status and these headers. */
function refusal(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}, headers: [string, string][] = []): GraphQLError {
  const http = { status: HTTP_STATUS[code], ...(headers.length > 0 ? { headers: new HeaderMap(headers) } : {}) };
  return new GraphQLError(message, { extensions: { code, ...extensions, http } });
}

/** A field's argument cannot be used; the rest of the operation still answers. */
export function badUserInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, ...(argument ? { argument } : {}) },
  });
}

export function unauthenticated(message: string): GraphQLError {
  return refusal(ErrorCode.UNAUTHENTICATED, message);
}

/**
 * The caller is known but may not do this: a CORS origin that is not listed, or a credential
 * without a scope the operation needs (`requiredScopes`: any one of the lists, each needing all
 * of its scopes, as @requiresScopes writes it).
 */
export function forbidden(message: string, requiredScopes?: readonly (readonly string[])[]): GraphQLError {
  return refusal(ErrorCode.FORBIDDEN, message, requiredScopes ? { requiredScopes } : {});
}

export function badRequest(message: string): GraphQLError {
  return refusal(ErrorCode.BAD_REQUEST, message);
}

/** BAD_REQUEST, with HTTP's own status for a body over the limit: the one status the table does not give. */
export function bodyTooLarge(maxBytes: number): GraphQLError {
  return new GraphQLError(`The request body exceeds ${maxBytes} bytes.`, {
    extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 413 } },
  });
}

/** "Ask for less": the cost model or a static limit refused the operation. */
export function queryTooComplex(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return refusal(ErrorCode.QUERY_TOO_COMPLEX, message, extensions);
}

/** QUERY_TOO_COMPLEX for one named request limit (`extensions.limit`: tokens, depth, aliases, ...). */
export function limitExceeded(limit: string, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return queryTooComplex(message, { limit, ...extensions });
}

export function throttled(retryAfterSeconds: number, message: string): GraphQLError {
  return refusal(ErrorCode.THROTTLED, message, { retryAfterSeconds }, [['retry-after', String(retryAfterSeconds)]]);
}

/** Another request holds the Idempotency-Key; the client retries shortly. */
export function conflict(message: string): GraphQLError {
  return refusal(ErrorCode.CONFLICT, message, {}, [['retry-after', '1']]);
}

export function idempotencyKeyReused(): GraphQLError {
  return refusal(ErrorCode.IDEMPOTENCY_KEY_REUSED, 'This Idempotency-Key was used with a different request; use a new key for a new request.');
}

/** The request passed its execution deadline; `what` says what became of its work. */
export function deadlineExceeded(timeoutMs: number, what: string): GraphQLError {
  return refusal(
    ErrorCode.SERVICE_UNAVAILABLE,
    `The request passed its execution deadline of ${timeoutMs} ms; ${what}. Retry, or ask for less.`,
    { reason: 'EXECUTION_DEADLINE', deadlineMs: timeoutMs },
    [['retry-after', '1']],
  );
}

/** This instance takes no requests now (shutting down); another instance, or a retry, will. */
export function serviceUnavailable(message: string): GraphQLError {
  return refusal(ErrorCode.SERVICE_UNAVAILABLE, message, {}, [['retry-after', '1']]);
}

/** The database stayed locked by another writer past the wait budget: nothing was written; retry. */
export function storeBusy(waitedMs: number): GraphQLError {
  return refusal(
    ErrorCode.SERVICE_UNAVAILABLE,
    `The database stayed locked by another writer for ${waitedMs} ms; nothing was written. Retry.`,
    { reason: 'DATABASE_BUSY' },
    [['retry-after', '1']],
  );
}

/** The masked form of an unexpected failure: a fixed message and the id to quote. */
export function internal(requestId?: string): GraphQLError {
  return refusal(ErrorCode.INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE, requestId ? { requestId } : {});
}

/**
 * The same error as graphql-js builds a located resolver error: graphql-jit's errors leave
 * `extensions` undefined when empty and set only `locations` (no nodes), which Apollo's
 * formatting does not expect.
 */
export function asLocatedGraphQLError(error: GraphQLError): GraphQLError {
  const rebuilt = new GraphQLError(error.message, {
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: error.extensions ?? undefined,
  });
  if (error.locations?.length) Object.defineProperty(rebuilt, 'locations', { value: error.locations, enumerable: true });
  return rebuilt;
}

/** Whether an error was raised deliberately with one of our codes (and so is safe to show). */
export function isExpected(error: unknown): boolean {
  const original = unwrapResolverError(error);
  const code = original instanceof GraphQLError ? original.extensions.code : undefined;
  return isErrorCode(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR;
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The one JSON error body the HTTP front writes outside Apollo (bad JSON, body too large,
 * shutting down, the export endpoint, the execution deadline), shaped as Apollo shapes one:
 * `{ errors: [{ message, extensions: { code, ... } }] }`. Status and headers come from the
 * error (so from HTTP_STATUS); anything not deliberately raised is masked, keeping its request id.
 */
export function errorResponse(error: GraphQLError, extensions: Record<string, unknown> = {}): ErrorResponse {
  const requestId = error.extensions.requestId;
  const shown = isExpected(error) ? error : internal(typeof requestId === 'string' ? requestId : undefined);
  const { http, ...rest } = shown.extensions as { http?: { status?: number; headers?: HeaderMap } } & Record<string, unknown>;
  const code = rest.code as ErrorCode;
  return {
    status: http?.status ?? HTTP_STATUS[code],
    headers: { 'content-type': 'application/json; charset=utf-8', ...Object.fromEntries(http?.headers ?? []) },
    body: JSON.stringify({ errors: [{ message: shown.message, extensions: { ...rest, ...extensions } }] }),
  };
}

// graphql 16's message for `maxTokens` ("more that", sic); test/limits.test.ts fails if an upgrade changes it.
const TOO_MANY_TOKENS = /^Syntax Error: Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/;
// Apollo strips suggestions from validation errors only; variable coercion errors carry them too.
const SUGGESTION = / ?Did you mean(.+?)\?$/;

/**
 * The code a client sees for an error, or undefined to mask it. Apollo files every
 * validation error under GRAPHQL_VALIDATION_FAILED and every parse error under
 * GRAPHQL_PARSE_FAILED; a request limit is neither a mistake in the query nor bad syntax, so
 * the gateway's own code inside Apollo's wrapper wins, and graphql's token limit (a parse
 * error without a code) is QUERY_TOO_COMPLEX too.
 */
function shownCode(formatted: GraphQLFormattedError, error: unknown): ErrorCode | undefined {
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  const inner = original instanceof GraphQLError ? original.extensions.code : undefined;
  if (isErrorCode(inner) && inner !== ErrorCode.INTERNAL_SERVER_ERROR) return inner;
  const code = formatted.extensions?.code;
  if (!isErrorCode(code) || code === ErrorCode.INTERNAL_SERVER_ERROR) return undefined;
  if (code === ErrorCode.GRAPHQL_VALIDATION_FAILED || code === ErrorCode.GRAPHQL_PARSE_FAILED || isExpected(error)) return code;
  return undefined;
}

export type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

export interface ErrorFormatting {
  /** Apollo's `formatError`: every error's final shape; nothing rewrites it afterwards. */
  formatError: FormatError;
  /**
   * Ties a request's errors to its id, for a masked error to quote. Called from
   * didEncounterErrors, which Apollo runs on the same error objects before it formats them;
   * an error raised before a request has hooks (context creation) carries its id itself.
   */
  noteRequest(errors: readonly unknown[], requestId: string): void;
}

/**
 * Known client errors pass through without stack traces or "Did you mean ...?" suggestions
 * (they would describe the schema); anything else becomes INTERNAL_SERVER_ERROR with a fixed
 * message and the request id.
 */
export function createErrorFormatting(): ErrorFormatting {
  const requestIds = new WeakMap<object, string>();
  const formatError: FormatError = (formatted, error) => {
    const code = shownCode(formatted, error);
    if (code === undefined) {
      const noted = typeof error === 'object' && error !== null ? requestIds.get(error) : undefined;
      const requestId = noted ?? formatted.extensions?.requestId;
      return {
        message: INTERNAL_MESSAGE,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, ...(typeof requestId === 'string' ? { requestId } : {}) },
      };
    }
    const { stacktrace, ...extensions } = formatted.extensions ?? {};
    void stacktrace;
    const tokens = code === ErrorCode.GRAPHQL_PARSE_FAILED ? TOO_MANY_TOKENS.exec(formatted.message)?.[1] : undefined;
    if (tokens !== undefined) {
      const max = Number(tokens);
      const message = `The query document has more than ${max} tokens; at most ${max} are allowed.`;
      return { ...formatted, message, extensions: { ...extensions, code: ErrorCode.QUERY_TOO_COMPLEX, limit: 'tokens', max } };
    }
    return { ...formatted, message: formatted.message.replace(SUGGESTION, ''), extensions: { ...extensions, code } };
  };
  return {
    formatError,
    noteRequest(errors, requestId) {
      for (const error of errors) if (typeof error === 'object' && error !== null) requestIds.set(error, requestId);
    },
  };
}
