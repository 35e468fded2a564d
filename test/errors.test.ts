/**
 * src/shared/errors.ts: every code has its HTTP status in the one table, every builder takes
 * its status from it, and the HTTP front's own error bodies come out in one shape.
 */
import { GraphQLError } from 'graphql';
import {
  ErrorCode,
  HTTP_STATUS,
  badRequest,
  bodyTooLarge,
  conflict,
  deadlineExceeded,
  errorResponse,
  idempotencyKeyReused,
  internal,
  limitExceeded,
  queryTooComplex,
  serviceUnavailable,
  throttled,
  unauthenticated,
} from '../src/shared/errors';

const statusOf = (error: GraphQLError) => (error.extensions.http as { status?: number } | undefined)?.status;

describe('the code-to-status table', () => {
  it('gives every ErrorCode an HTTP status', () => {
    for (const code of Object.values(ErrorCode)) {
      expect({ code, status: HTTP_STATUS[code] }).toEqual({ code, status: expect.any(Number) });
      expect(HTTP_STATUS[code]).toBeGreaterThanOrEqual(200);
      expect(HTTP_STATUS[code]).toBeLessThan(600);
    }
    expect(Object.keys(HTTP_STATUS).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('holds the statuses the API promises', () => {
    expect(HTTP_STATUS).toMatchObject({
      UNAUTHENTICATED: 401,
      BAD_REQUEST: 400,
      QUERY_TOO_COMPLEX: 400,
      THROTTLED: 429,
      SERVICE_UNAVAILABLE: 503,
      IDEMPOTENCY_KEY_REUSED: 422,
      CONFLICT: 409,
      INTERNAL_SERVER_ERROR: 500,
    });
  });

  it.each([
    ['unauthenticated', unauthenticated('no key')],
    ['badRequest', badRequest('bad')],
    ['queryTooComplex', queryTooComplex('too much')],
    ['limitExceeded', limitExceeded('depth', 'too deep')],
    ['throttled', throttled(3, 'wait')],
    ['conflict', conflict('busy')],
    ['idempotencyKeyReused', idempotencyKeyReused()],
    ['deadlineExceeded', deadlineExceeded(10, 'nothing was written')],
    ['serviceUnavailable', serviceUnavailable('shutting down')],
    ['internal', internal('req-1')],
  ])('%s takes its status from the table', (_name, error) => {
    expect(statusOf(error)).toBe(HTTP_STATUS[error.extensions.code as ErrorCode]);
  });

  it('bodyTooLarge is the one exception: BAD_REQUEST with HTTP 413', () => {
    expect({ code: bodyTooLarge(10).extensions.code, status: statusOf(bodyTooLarge(10)) }).toEqual({ code: 'BAD_REQUEST', status: 413 });
  });
});

describe('errorResponse, the HTTP front\'s one error body', () => {
  it('answers with the table\'s status, the error\'s headers, and `{ errors: [{ message, extensions }] }` without `http`', () => {
    const sent = errorResponse(throttled(7, 'Throttled.'), { requestId: 'r-1' });
    expect(sent.status).toBe(HTTP_STATUS.THROTTLED);
    expect(sent.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', 'retry-after': '7' });
    expect(JSON.parse(sent.body)).toEqual({ errors: [{ message: 'Throttled.', extensions: { code: 'THROTTLED', retryAfterSeconds: 7, requestId: 'r-1' } }] });
  });

  it('masks an error without one of our codes as INTERNAL_SERVER_ERROR, keeping its request id', async () => {
    const sent = errorResponse(new GraphQLError('secret', { extensions: { code: 'DB_DOWN', requestId: 'r-2' } }));
    expect(sent.status).toBe(HTTP_STATUS.INTERNAL_SERVER_ERROR);
    expect(JSON.parse(sent.body)).toEqual({ errors: [{ message: internal().message, extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'r-2' } }] });
  });
});
