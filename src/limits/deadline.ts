/**
 * The execution deadline (EXECUTION_TIMEOUT_MS, 10 s by default).
 *
 * graphql-js 16 cannot cancel an execution, and cancelling a mutation half-way would be worse
 * than waiting for it, so the deadline is kept with two rules:
 *
 * - A query (or a request that has not reached execution) still running at the deadline is
 *   answered at once with HTTP 503 and SERVICE_UNAVAILABLE; its remaining work finishes in
 *   the background and is thrown away (it writes nothing; PostgreSQL's statement timeout
 *   bounds its statements).
 * - A mutation is never cut off once one of its fields has started: that field's transaction
 *   commits or rolls back as a whole, and its result (the acknowledgement, or the userErrors)
 *   is sent however late, because answering "timed out" while the commit may still land would
 *   tell the client a write failed that in fact happened. What the deadline does stop is the
 *   next mutation field of the same operation: one that would start after the deadline is not
 *   started and reports SERVICE_UNAVAILABLE, and nothing of it is written.
 *
 * So a 503 sent at the deadline always means that no mutation field ran or will run.
 */
import type { ApolloServerPlugin, HTTPGraphQLResponse } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { GraphQLError, defaultFieldResolver, type GraphQLSchema } from 'graphql';
import { ErrorCode } from '../errors';
import type { LimitSettings } from './settings';

export class RequestDeadline {
  readonly expiresAt: number;
  /** The operation type once Apollo has resolved it. */
  operation: string | undefined;
  /** Set when the request was answered at the deadline: nothing may start any more. */
  answered = false;

  constructor(readonly timeoutMs: number) {
    this.expiresAt = timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
  }

  get passed(): boolean {
    return this.answered || Date.now() >= this.expiresAt;
  }
}

const deadlines = new WeakMap<object, RequestDeadline>();

/** Ties a deadline started by the HTTP front to the request's context. */
export function attachDeadline<T extends object>(context: T, deadline: RequestDeadline): T {
  deadlines.set(context, deadline);
  return context;
}

export function deadlineError(timeoutMs: number, what: string): GraphQLError {
  return new GraphQLError(`The request passed its execution deadline of ${timeoutMs} ms; ${what}. Retry, or ask for less.`, {
    extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, reason: 'EXECUTION_DEADLINE', deadlineMs: timeoutMs },
  });
}

/** Records the operation type, and starts a deadline for requests that did not come through HTTP. */
export function deadlinePlugin<T extends object>(settings: LimitSettings): ApolloServerPlugin<T> {
  return {
    async requestDidStart({ contextValue }) {
      if (!deadlines.has(contextValue)) deadlines.set(contextValue, new RequestDeadline(settings.executionTimeoutMs));
      return {
        async didResolveOperation({ operation }) {
          const deadline = deadlines.get(contextValue);
          if (deadline) deadline.operation = operation?.operation;
        },
      };
    },
  };
}

const GUARDED = Symbol('deadline-guarded');

/** Makes every mutation field refuse to start once its request's deadline has passed. */
export function guardMutations(schema: GraphQLSchema): GraphQLSchema {
  const mutation = schema.getMutationType();
  for (const field of Object.values(mutation?.getFields() ?? {})) {
    const resolve = field.resolve ?? defaultFieldResolver;
    if ((resolve as { [GUARDED]?: boolean })[GUARDED]) continue;
    const guarded: typeof resolve = (source, args, context: unknown, info) => {
      const deadline = typeof context === 'object' && context !== null ? deadlines.get(context) : undefined;
      if (deadline?.passed) throw deadlineError(deadline.timeoutMs, `\`${info.fieldName}\` was not started and wrote nothing`);
      return resolve(source, args, context, info);
    };
    field.resolve = Object.assign(guarded, { [GUARDED]: true });
  }
  return schema;
}

function timeoutResponse(deadline: RequestDeadline, requestId: string): HTTPGraphQLResponse {
  const error = deadlineError(deadline.timeoutMs, 'nothing was written');
  const body = { errors: [{ message: error.message, extensions: { ...error.extensions, requestId } }] };
  return {
    status: 503,
    headers: new HeaderMap([
      ['content-type', 'application/json; charset=utf-8'],
      ['retry-after', '1'],
    ]),
    body: { kind: 'complete', string: JSON.stringify(body) },
  };
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
