/**
 * The execution deadline (EXECUTION_TIMEOUT_MS, 10 s by default).
 *
 * graphql-js 16 cannot cancel an execution, and cutting a mutation off would be worse than
 * waiting for it, so the deadline keeps two rules:
 *
 * - A query (or any request whose operation has not started executing) still running at the
 *   deadline is answered at once with HTTP 503 and SERVICE_UNAVAILABLE. Its remaining work
 *   finishes in the background and is thrown away; it writes nothing, and PostgreSQL's
 *   statement timeout bounds its statements. A mutation that had not started by then never
 *   starts: its fields refuse to run once the request has been answered.
 * - A mutation operation that has started executing is never cut off. Each of its fields runs
 *   in its own transaction, which commits or rolls back as a whole; answering "timed out"
 *   while a commit may still land would tell the client that a write failed which in fact
 *   happened (and invite a duplicate on retry), and refusing its later fields would null the
 *   whole `data` (payloads are non-null) and so drop the acknowledgement of the fields that
 *   did commit. So the response, with every field's outcome, is sent however late. The
 *   alias, token and cost limits keep such an operation short.
 *
 * So a 503 sent at the deadline always means that no mutation field ran or will run.
 */
import type { BaseContext, HTTPGraphQLResponse } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { deadlineExceeded, errorResponse } from '../shared/errors';
import type { ResolverWrapper } from './resolver';
import type { RequestConcern, RequestHooks } from './request-hooks';

export class RequestDeadline {
  readonly expiresAt: number;
  /** The operation type once Apollo has resolved it. */
  operation: string | undefined;
  /** Set when the request was answered at the deadline: no mutation may start any more. */
  answered = false;

  constructor(readonly timeoutMs: number) {
    this.expiresAt = timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
  }
}

// A symbol-keyed property rather than a WeakMap: Apollo runs each request on a shallow copy of
// the context it was given, which copies own enumerable symbol properties but not identity.
const DEADLINE = Symbol('request-deadline');
type WithDeadline = { [DEADLINE]?: RequestDeadline };

function deadlineOf(context: unknown): RequestDeadline | undefined {
  return typeof context === 'object' && context !== null ? (context as WithDeadline)[DEADLINE] : undefined;
}

/** Ties a deadline started by the HTTP front to the request's context. */
export function attachDeadline<T extends object>(context: T, deadline: RequestDeadline): T {
  // A plain assignment makes the same enumerable, writable, configurable property as
  // defineProperty with those flags, at a fraction of the cost (it takes V8's inline caches).
  (context as WithDeadline)[DEADLINE] = deadline;
  return context;
}

/** Records the operation type on the request's deadline (set by the HTTP front; executeOperation has none). */
export function deadlineOperation<T extends BaseContext>(): RequestConcern<T> {
  const hooks: RequestHooks<T> = {
    didResolveOperation({ operation, contextValue }) {
      const deadline = deadlineOf(contextValue);
      if (deadline) deadline.operation = operation?.operation;
    },
  };
  return ({ contextValue }) => (deadlineOf(contextValue) ? hooks : undefined);
}

/** Resolver wrapper for mutation fields (composed in pipeline.ts): refuses to start once the request was answered at the deadline. */
export const refuseAfterDeadline: ResolverWrapper = (next) => (source, args, context, info) => {
  const deadline = deadlineOf(context);
  if (deadline?.answered) throw deadlineExceeded(deadline.timeoutMs, `\`${info.fieldName}\` was not started and wrote nothing`);
  return next(source, args, context, info);
};

function timeoutResponse(deadline: RequestDeadline, requestId: string): HTTPGraphQLResponse {
  const { status, headers, body } = errorResponse(deadlineExceeded(deadline.timeoutMs, 'nothing was written'), { requestId });
  return { status, headers: new HeaderMap(Object.entries(headers)), body: { kind: 'complete', string: body } };
}

/**
 * Resolves with the request's own response, or with a 503 at the deadline unless a mutation
 * is running (see the top of this file). `onExpired` is told when a request was cut off.
 */
export function withinDeadline(
  deadline: RequestDeadline,
  running: Promise<HTTPGraphQLResponse>,
  requestId: string,
  onExpired: () => void,
): Promise<HTTPGraphQLResponse> {
  if (!Number.isFinite(deadline.expiresAt)) return running;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (deadline.operation === 'mutation') return;
      deadline.answered = true;
      onExpired();
      resolve(timeoutResponse(deadline, requestId));
    }, Math.max(0, deadline.expiresAt - Date.now()));
    running.then(
      (response) => {
        clearTimeout(timer);
        resolve(response);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
