/**
 * The gateway's own request hooks (limits, cost, logging, idempotency) as ONE Apollo plugin.
 *
 * Why: Apollo awaits every hook of every plugin's request listener through a Promise.all per
 * hook, and asks each listener's `responseForOperation` one after another with an await each,
 * so every plugin costs a few promises and microtask turns per request whether it has work to
 * do or not. Here each concern returns plain functions, synchronous unless they have I/O to
 * wait for, and one listener calls them all: a hook with nothing asynchronous to do costs no
 * promise at all.
 *
 * Semantics are Apollo's own: for each hook, every concern's function is called in the given
 * order (a later one still runs when an earlier one threw), and the hook settles when all have,
 * rejecting with the first rejection; `responseForOperation` asks the concerns in order and
 * stops at the first response; the order of concerns is the order the plugins had.
 * One exception, on purpose: `didResolveOperation` stops at the first concern that throws. A
 * refusal there (a limit, a missing scope) answers the request, and the concerns after it
 * would only start work to undo: price and charge the rate-limit bucket, claim an
 * Idempotency-Key row and delete it again. A refusal that comes after waiting (a promise that
 * rejects) cannot stop concerns that already started; they undo their work as before.
 */
import type {
  ApolloServerPlugin,
  BaseContext,
  GraphQLRequestContext,
  GraphQLRequestContextDidEncounterErrors,
  GraphQLRequestContextDidResolveOperation,
  GraphQLRequestContextExecutionDidStart,
  GraphQLRequestContextResponseForOperation,
  GraphQLRequestContextWillSendResponse,
  GraphQLRequestListener,
  GraphQLResponse,
} from '@apollo/server';

type Maybe<T> = T | Promise<T>;

/** What one concern does during one request. */
export interface RequestHooks<T extends BaseContext> {
  didResolveOperation?(requestContext: GraphQLRequestContextDidResolveOperation<T>): Maybe<void>;
  responseForOperation?(requestContext: GraphQLRequestContextResponseForOperation<T>): Maybe<GraphQLResponse | null>;
  /** Nothing to return: a concern does not instrument resolvers. */
  executionDidStart?(requestContext: GraphQLRequestContextExecutionDidStart<T>): Maybe<void>;
  didEncounterErrors?(requestContext: GraphQLRequestContextDidEncounterErrors<T>): Maybe<void>;
  willSendResponse?(requestContext: GraphQLRequestContextWillSendResponse<T>): Maybe<void>;
}

/** A concern: its hooks for a request, or nothing when it has nothing to do in that request. */
export type RequestConcern<T extends BaseContext> = (requestContext: GraphQLRequestContext<T>) => RequestHooks<T> | undefined;

const DONE: Promise<void> = Promise.resolve();

/**
 * Calls `call` on every concern's hooks, in order (with `stopAtThrow`, none after one that
 * throws); a promise only when one of them is asynchronous or threw.
 */
function callAll<T extends BaseContext>(
  hooks: readonly RequestHooks<T>[],
  call: (hooks: RequestHooks<T>) => Maybe<void> | undefined,
  stopAtThrow = false,
): Promise<void> {
  let pending: Promise<void>[] | null = null;
  for (const one of hooks) {
    let result: Maybe<void> | undefined;
    let threw = false;
    try {
      result = call(one);
    } catch (error) {
      // As an async hook's throw would: a rejection (and, unless stopping, the rest still run).
      result = Promise.reject(error);
      threw = true;
    }
    if (result instanceof Promise) (pending ??= []).push(result);
    if (threw && stopAtThrow) break;
  }
  if (pending === null) return DONE;
  return pending.length === 1 ? pending[0] : Promise.all(pending).then(() => undefined);
}

async function firstResponse<T extends BaseContext>(
  hooks: readonly RequestHooks<T>[],
  requestContext: GraphQLRequestContextResponseForOperation<T>,
): Promise<GraphQLResponse | null> {
  for (const one of hooks) {
    const response = await one.responseForOperation?.(requestContext);
    if (response != null) return response;
  }
  return null;
}

/** One listener for the hooks this request needs; hooks no concern has are left out. */
function listenerOf<T extends BaseContext>(hooks: readonly RequestHooks<T>[]): GraphQLRequestListener<T> {
  const has = (name: keyof RequestHooks<T>) => hooks.some((one) => one[name] !== undefined);
  const listener: GraphQLRequestListener<T> = {};
  if (has('didResolveOperation')) listener.didResolveOperation = (rc) => callAll(hooks, (one) => one.didResolveOperation?.(rc), true);
  if (has('responseForOperation')) listener.responseForOperation = (rc) => firstResponse(hooks, rc);
  if (has('executionDidStart')) listener.executionDidStart = (rc) => callAll(hooks, (one) => one.executionDidStart?.(rc));
  if (has('didEncounterErrors')) listener.didEncounterErrors = (rc) => callAll(hooks, (one) => one.didEncounterErrors?.(rc));
  if (has('willSendResponse')) listener.willSendResponse = (rc) => callAll(hooks, (one) => one.willSendResponse?.(rc));
  return listener;
}

export function requestHooksPlugin<T extends BaseContext>(concerns: readonly RequestConcern<T>[]): ApolloServerPlugin<T> {
  return {
    async requestDidStart(requestContext) {
      const hooks: RequestHooks<T>[] = [];
      for (const concern of concerns) {
        const one = concern(requestContext);
        if (one) hooks.push(one);
      }
      return hooks.length > 0 ? listenerOf(hooks) : undefined;
    },
  };
}
