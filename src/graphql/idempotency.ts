/**
 * Idempotency keys for mutations (`Idempotency-Key` header), after Stripe's and the IETF
 * draft's semantics: a retry of the same request with the same key returns the stored
 * response and writes nothing; the same key with another request is IDEMPOTENCY_KEY_REUSED
 * (422); a retry while the first is still running is a retryable CONFLICT (409, Retry-After).
 * Keys are scoped to workspace + API key and kept 24 hours; all state is in the database, so
 * any number of instances share it.
 *
 * States of a key's row and why a crash cannot lose or double a write:
 * - `in_flight` (claimed, holding a random token and a lease): nothing committed yet. If the
 *   process dies here, nothing was written; once the lease runs out a retry takes the row over
 *   (new token) and executes the mutation.
 * - `committed` (with the mutation's payload): written by a hook as the last statement of the
 *   mutation's OWN transaction (store/engine.ts `withBeforeCommitHook`), so the writes and the
 *   record commit together or not at all. The update is conditional on the token: a request
 *   whose lease ran out while it was still running (a stalled process) finds the row taken
 *   over, and its whole transaction rolls back with CONFLICT. So at most one execution of a
 *   key ever commits, even with leases that expire under a live process (a fencing token).
 * - `completed` (with the response body and status): written after the response is built.
 *   A crash between commit and this write leaves `committed`; a retry then re-executes the
 *   operation with the mutation field answering from the stored payload (no write happens),
 *   so the client still gets the committed result. Nested fields of that recovered response
 *   are read at retry time, which is the only way it can differ from the lost original.
 * A request that committed nothing and failed with a top-level error gives the key back, so
 * the client can fix and retry; rejections with `userErrors` are stored and replayed.
 */
import crypto from 'node:crypto';
import { HeaderMap, type GraphQLRequestContext } from '@apollo/server';
import { Kind, OperationTypeNode, print, type DocumentNode, type FormattedExecutionResult, type OperationDefinitionNode } from 'graphql';
import type { Context } from './context';
import { badRequest, conflict, idempotencyKeyReused } from '../shared/errors';
import type { ResolverWrapper } from './resolver';
import type { RequestConcern } from './request-hooks';
import { whenDurable, withBeforeCommitHook, type Tx } from '../store/engine';
import {
  deleteExpiredKey,
  findIdempotencyKey,
  insertClaim,
  markCommitted,
  purgeExpiredKeys,
  releaseClaim,
  storeResponse,
  takeOverClaim,
  type IdempotencyScope,
} from '../store/idempotency.repository';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';

export interface IdempotencyOptions {
  /** How long a key is remembered. */
  ttlMs: number;
  /**
   * How long a claim blocks retries before a retry may take it over. Longer than any request
   * can run (HTTP request timeout 30 s); a stalled holder is fenced off anyway (see above).
   */
  leaseMs: number;
  /** Expired rows of all workspaces are deleted at most this often (per process). */
  purgeEveryMs: number;
  now: () => number;
}

export const IDEMPOTENCY_DEFAULTS: IdempotencyOptions = {
  ttlMs: 24 * 60 * 60 * 1000,
  leaseMs: 60_000,
  purgeEveryMs: 60_000,
  now: () => Date.now(),
};

/** 1-255 visible ASCII characters (0x21-0x7E), as Stripe and the IETF draft allow. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The header's key, null when absent; BAD_REQUEST when present but malformed. */
function parseIdempotencyKey(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (!KEY_PATTERN.test(value)) {
    throw badRequest('The Idempotency-Key header must be 1 to 255 visible ASCII characters (no spaces).');
  }
  return value;
}

/** Text that `canonical` emits as it is, as opposed to a value still to be written. */
class Literal {
  constructor(readonly text: string) {}
}

/**
 * JSON with object keys sorted, so `{a, b}` and `{b, a}` are the same request. Iterative, not
 * recursive: variables nest as deep as the client sends them (the body size is the only bound),
 * and a request must get the same answer with the header as without it, not a stack overflow.
 */
function canonical(value: unknown): string {
  const out: string[] = [];
  const work: unknown[] = [value];
  while (work.length > 0) {
    const item = work.pop();
    if (item instanceof Literal) {
      out.push(item.text);
    } else if (Array.isArray(item)) {
      work.push(new Literal(']'));
      for (let i = item.length - 1; i >= 0; i -= 1) work.push(item[i], new Literal(i === 0 ? '' : ','));
      work.push(new Literal('['));
    } else if (item !== null && typeof item === 'object') {
      const entries = Object.entries(item as Record<string, unknown>).filter(([, v]) => v !== undefined);
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      work.push(new Literal('}'));
      for (let i = entries.length - 1; i >= 0; i -= 1) {
        work.push(entries[i][1], new Literal(`${i === 0 ? '' : ','}${JSON.stringify(entries[i][0])}:`));
      }
      work.push(new Literal('{'));
    } else {
      out.push(JSON.stringify(item) ?? 'null');
    }
  }
  return out.join('');
}

/** What makes two requests "the same": the printed document, operation name and variables. */
export function requestHash(document: DocumentNode, operationName: string | null | undefined, variables: unknown): string {
  const text = `${print(document)}\n${operationName ?? ''}\n${canonical(variables ?? {})}`;
  return crypto.createHash('sha256').update(text).digest('hex');
}

type Decision =
  | { kind: 'execute'; token: string }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'recover'; payload: unknown };

/** Claims the key for this request, or says how to answer from what is stored. */
export async function claimKey(db: Tx, scope: IdempotencyScope, hash: string, options: IdempotencyOptions): Promise<Decision> {
  const now = options.now();
  const token = crypto.randomUUID();
  const lease = now + options.leaseMs;
  let found = await findIdempotencyKey(db, scope);
  if (found && found.expiresAt <= now) {
    await deleteExpiredKey(db, scope, now);
    found = null;
  }
  if (!found) {
    const inserted = await insertClaim(db, scope, { requestHash: hash, token, now, leaseExpiresAt: lease, expiresAt: now + options.ttlMs });
    if (!inserted) throw conflict('A request with this Idempotency-Key is in progress; retry shortly.');
    return { kind: 'execute', token };
  }
  if (found.requestHash !== hash) throw idempotencyKeyReused();
  if (found.state === 'completed' && found.responseBody !== null) {
    return { kind: 'replay', status: found.responseStatus ?? 200, body: found.responseBody };
  }
  if (found.state === 'committed' && found.payload !== null) {
    // The first request's commit may still be on its way to disk; this answer acknowledges it.
    await whenDurable(db);
    return { kind: 'recover', payload: JSON.parse(found.payload) };
  }
  // In flight: the holder is working, or died before committing anything (its lease ran out).
  if (found.leaseExpiresAt > now || !(await takeOverClaim(db, scope, found.token, token, lease))) {
    throw conflict('A request with this Idempotency-Key is in progress; retry shortly.');
  }
  return { kind: 'execute', token };
}

interface RequestState {
  scope: IdempotencyScope;
  hash: string;
  decision: Decision;
  /** The mutation's transaction wrote the `committed` mark (its commit then followed). */
  committed: boolean;
  /** The mutation field answered from a recovered key's stored payload. */
  recovered: boolean;
}

/** Per request, keyed by the context object the resolvers receive. */
const states = new WeakMap<Context, RequestState>();
/**
 * Claims under way. Apollo runs every plugin's didResolveOperation at once and answers as soon
 * as one throws (a rate limit, a cost limit), possibly while the claim is still being written:
 * willSendResponse waits for it, so that claim is released instead of blocking its key for a lease.
 */
const claiming = new WeakMap<Context, Promise<unknown>>();

function checkSingleMutationField(operation: OperationDefinitionNode): void {
  const selections = operation.selectionSet.selections;
  if (selections.length !== 1 || selections[0].kind !== Kind.FIELD) {
    // One key, one transaction: several mutation fields commit separately and could not be
    // recorded atomically with each of them.
    throw badRequest('An Idempotency-Key covers exactly one mutation field; send one mutation per request.');
  }
}

/** The hook run inside the mutation's transaction: marks the key committed, or rolls back. */
function commitMark(state: RequestState, token: string) {
  return async (trx: Tx, result: unknown) => {
    if (!(await markCommitted(trx, state.scope, token, JSON.stringify(result)))) {
      throw conflict('Another request took over this Idempotency-Key; nothing was written. Retry to get its result.');
    }
    state.committed = true;
  };
}

/**
 * Resolver wrapper for mutation fields (composed in pipeline.ts). Under a claimed key, the
 * transaction the field opens carries the commit mark; when recovering a committed key, the
 * field answers from the stored payload instead of running.
 */
export const idempotentMutation: ResolverWrapper = (next) => (source, args, ctx, info) => {
  const state = states.get(ctx);
  if (!state) return next(source, args, ctx, info);
  if (state.decision.kind === 'recover') {
    state.recovered = true;
    return state.decision.payload;
  }
  if (state.decision.kind !== 'execute') return next(source, args, ctx, info);
  return withBeforeCommitHook(commitMark(state, state.decision.token), () => next(source, args, ctx, info));
};

function hasTopLevelErrors(requestContext: GraphQLRequestContext<Context>): boolean {
  const body = requestContext.response.body;
  return body?.kind !== 'single' || (body.singleResult.errors?.length ?? 0) > 0;
}

/** After the response is built: store it, or give an unused key back. */
async function settle(requestContext: GraphQLRequestContext<Context>, state: RequestState): Promise<void> {
  const { response, contextValue } = requestContext;
  const body = response.body?.kind === 'single' ? JSON.stringify(response.body.singleResult) : null;
  const status = response.http.status ?? 200;
  if (state.decision.kind === 'recover') {
    // Stored only when the field did answer from the payload: a response without it (refused at
    // the deadline, say) would otherwise replace the committed result for every later retry.
    if (!state.recovered) return;
    response.http.headers.set(REPLAYED_HEADER, 'true');
    if (body !== null) await storeResponse(contextValue.db, state.scope, { recoveredHash: state.hash }, { status, body });
    return;
  }
  if (state.decision.kind !== 'execute') return;
  const { token } = state.decision;
  if (body !== null && (state.committed || !hasTopLevelErrors(requestContext))) {
    await storeResponse(contextValue.db, state.scope, { token }, { status, body });
  } else {
    await releaseClaim(contextValue.db, state.scope, token);
  }
}

/**
 * The request hooks (src/graphql/request-hooks.ts): claim the key once the operation is known (errors
 * thrown there become proper HTTP errors), replay stored responses, and settle the key after
 * the response. A request without the header has nothing to do here.
 */
export function idempotencyConcern(options: IdempotencyOptions = IDEMPOTENCY_DEFAULTS): RequestConcern<Context> {
  let lastPurge = 0;
  return ({ request }) => {
    const headerValue = request.http?.headers.get(IDEMPOTENCY_HEADER);
    if (headerValue === undefined) return;
    return {
      async didResolveOperation({ operation, document, request, contextValue }) {
        const key = parseIdempotencyKey(headerValue);
        // Queries are safe to repeat: they run as usual and nothing is recorded.
        if (!key || !operation || operation.operation !== OperationTypeNode.MUTATION) return;
        checkSingleMutationField(operation);
        const scope = { workspaceId: contextValue.workspace.id, apiKeyId: contextValue.principalId, key };
        const hash = requestHash(document, request.operationName, request.variables);
        const now = options.now();
        // Registered before the first await (the purge), so a refusal answered meanwhile still
        // waits for the claim and releases it.
        const claimed = (async () => {
          if (now - lastPurge >= options.purgeEveryMs) {
            lastPurge = now;
            await purgeExpiredKeys(contextValue.db, now);
          }
          const decision = await claimKey(contextValue.db, scope, hash, options);
          states.set(contextValue, { scope, hash, decision, committed: false, recovered: false });
        })();
        claiming.set(contextValue, claimed.catch(() => undefined));
        await claimed;
      },
      async responseForOperation({ contextValue }) {
        const decision = states.get(contextValue)?.decision;
        if (decision?.kind !== 'replay') return null;
        return {
          http: { status: decision.status, headers: new HeaderMap([[REPLAYED_HEADER, 'true']]) },
          body: { kind: 'single', singleResult: JSON.parse(decision.body) as FormattedExecutionResult },
        };
      },
      async willSendResponse(requestContext) {
        await claiming.get(requestContext.contextValue);
        const state = states.get(requestContext.contextValue);
        if (!state) return;
        try {
          await settle(requestContext, state);
        } catch (error) {
          // The response stands; the key stays claimed until its lease ends (or `committed`).
          requestContext.contextValue.logger.warn({ err: error, idempotencyKey: state.scope.key }, 'could not settle the idempotency key');
        }
      },
    };
  };
}
