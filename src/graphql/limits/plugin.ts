/**
 * The Apollo plugin that prices every operation before it runs, refuses the ones over
 * MAX_QUERY_COST, charges the caller's rate-limit bucket, refunds what the operation did not
 * use, and reports it all in `extensions.cost` on every response.
 */
import type { GraphQLRequestContextDidResolveOperation, GraphQLRequestContextWillSendResponse } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { Context } from '../context';
import { queryTooComplex, throttled } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { RequestConcern } from '../request-hooks';
import { observeCost } from '../observation';
import { actualQueryCost, requestedQueryCost, resultWalk, type ResultWalk } from './cost';
import { DocumentMemo, requestSignature } from './memo';
import { retryAfterSeconds, type BucketSettings, type BucketStatus, type BucketStore } from './rate-limit';

export interface Limits {
  /** Most points one operation may cost; 0 for no limit. */
  maxQueryCost: number;
  bucket: BucketSettings;
  /** Null when rate limiting is off. */
  buckets: BucketStore | null;
}

export interface CostReport {
  requestedQueryCost: number;
  /** Null when the operation did not run. */
  actualQueryCost: number | null;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
}

/** Defaults of MAX_QUERY_COST, RATE_LIMIT_BUCKET and RATE_LIMIT_RESTORE (src/config.ts reads the variables). */
export const DEFAULT_MAX_QUERY_COST = 1000;
export const DEFAULT_BUCKET: Readonly<BucketSettings> = { capacity: 1000, restorePerSecond: 100 };

/** The default cost limit and no buckets: a server built without a config (tests). */
export function defaultLimits(): Limits {
  return { maxQueryCost: DEFAULT_MAX_QUERY_COST, bucket: { ...DEFAULT_BUCKET }, buckets: null };
}

/**
 * Whole points available to show a client: never below 0, though a bucket shared by several
 * instances may briefly hold more than its capacity (docs/limits-and-cost.md); Retry-After counts
 * the excess in.
 */
const shown = (available: number) => Math.max(0, Math.floor(available));

function overBucket(settings: BucketSettings, cost: number, available: number): GraphQLError {
  const seconds = retryAfterSeconds(settings, cost, available);
  return throttled(
    seconds,
    `Throttled: this query costs ${cost} points and the API key has ${shown(available)} available ` +
      `(${settings.restorePerSecond} restored per second). Retry after ${seconds} s.`,
  );
}

function overLimit(cost: number, max: number): GraphQLError {
  return queryTooComplex(
    `The query costs ${cost} points, over the limit of ${max} per operation. Ask for smaller pages (first/last) or fewer nested connections.`,
    { requestedQueryCost: cost, maxQueryCost: max },
  );
}

/** Requested costs and result walks per document and variables signature (src/graphql/limits/memo.ts), one set per server. */
interface Memos {
  requested: DocumentMemo<number>;
  walks: DocumentMemo<ResultWalk | null>;
}

/** Everything one request's hooks share. */
class RequestCost {
  /** Whether check ran: a request refused before it (a limit, a scope) is never priced. */
  priced = false;
  requested = 0;
  actual: number | null = null;
  charged = 0;
  executed = false;
  status: BucketStatus | null = null;
  /** The charge in flight: another plugin may reject the request before it settles. */
  charging: Promise<void> | null = null;

  constructor(
    readonly limits: Limits,
    readonly buckets: BucketStore | null,
    readonly keyId: string,
    readonly logger: Logger,
    readonly memos: Memos,
  ) {}

  /** Prices the operation and charges the bucket; a promise only when the buckets are in the database. */
  check(rc: GraphQLRequestContextDidResolveOperation<Context>): Promise<void> | void {
    const operation = { schema: rc.schema, document: rc.document, operationName: rc.operationName, variables: rc.request.variables };
    const signature = requestSignature(rc.contextValue, rc.schema, rc.document, rc.operationName, rc.request.variables);
    this.requested = this.memos.requested.get(rc.document, signature, () => requestedQueryCost(operation));
    this.priced = true;
    const max = this.limits.maxQueryCost;
    if (max > 0 && this.requested > max) throw overLimit(this.requested, max);
    const buckets = this.buckets;
    if (!buckets) return;
    // A query dearer than the whole bucket (possible only with MAX_QUERY_COST off or above it) needs a full bucket.
    const cost = Math.min(this.requested, buckets.settings.capacity);
    const charged = buckets.charge(this.keyId, cost);
    if (!(charged instanceof Promise)) return this.admit(buckets, charged, cost);
    this.charging = charged.then((status) => void (this.status = status));
    return this.charging.then(() => this.admit(buckets, this.status, cost));
  }

  /** Records the charge, or refuses the request when it did not fit. */
  private admit(buckets: BucketStore, status: BucketStatus | null, cost: number): void {
    this.status = status;
    if (status?.granted) this.charged = cost;
    else throw overBucket(buckets.settings, cost, status?.available ?? 0);
  }

  /** The actual cost from the result; the requested cost when the result does not show it. */
  measure(rc: GraphQLRequestContextWillSendResponse<Context>): void {
    if (!this.executed || !rc.operation || !rc.document) return;
    const body = rc.response.body;
    const data = body?.kind === 'single' ? body.singleResult.data : undefined;
    if (!data) {
      this.actual = this.requested;
      return;
    }
    const operation = { schema: rc.schema, document: rc.document, operation: rc.operation, variables: rc.request.variables };
    const signature = requestSignature(rc.contextValue, rc.schema, rc.document, rc.operationName, rc.request.variables);
    this.actual = actualQueryCost(operation, data, this.memos.walks.get(rc.document, signature, () => resultWalk(operation)));
  }

  /**
   * Refunds what was charged but not used; reads the bucket when nothing was charged. Waits
   * for a charge still in flight (another concern may have refused the request before it
   * settled); a promise only when the buckets are in the database.
   */
  settle(): Promise<void> | void {
    const buckets = this.buckets;
    if (!buckets) return;
    if (this.charging) return this.charging.catch(() => undefined).then(() => this.refund(buckets));
    return this.refund(buckets);
  }

  private refund(buckets: BucketStore): Promise<void> | void {
    try {
      const refund = this.charged - Math.min(this.charged, this.actual ?? 0);
      const updated = refund > 0 ? buckets.refund(this.keyId, refund) : this.status ? null : buckets.charge(this.keyId, 0);
      if (!(updated instanceof Promise)) {
        if (updated) this.status = updated;
        return;
      }
      return updated.then(
        (status) => void (this.status = status),
        (error: unknown) => this.refundFailed(error),
      );
    } catch (error) {
      this.refundFailed(error);
    }
  }

  private refundFailed(error: unknown): void {
    // The response is ready; a bucket that could not be refunded only makes this key wait a little.
    this.logger.warn({ err: error }, 'rate-limit bucket could not be updated after the request');
  }

  report(): CostReport {
    const { capacity, restorePerSecond } = this.limits.bucket;
    const available = this.buckets ? (this.status?.available ?? capacity) : capacity;
    return {
      requestedQueryCost: this.requested,
      actualQueryCost: this.actual,
      throttleStatus: { maximumAvailable: capacity, currentlyAvailable: shown(available), restoreRate: restorePerSecond },
    };
  }
}

export function costConcern(limits: Limits, logger: Logger): RequestConcern<Context> {
  const memos: Memos = { requested: new DocumentMemo(), walks: new DocumentMemo() };
  return ({ contextValue }) => {
    // Keys created with --no-rate-limit (trusted back-office jobs) are priced but never throttled;
    // each key, and each (workspace, subject) of a token, has its own bucket.
    const buckets = contextValue.rateLimited ? limits.buckets : null;
    const cost = new RequestCost(limits, buckets, contextValue.principalId, logger, memos);
    return {
      didResolveOperation: (rc) => cost.check(rc),
      executionDidStart() {
        cost.executed = true;
      },
      willSendResponse(rc) {
        cost.measure(rc);
        // Priced once the operation resolved and no earlier concern refused it, whether or not it then ran.
        if (cost.priced) observeCost(rc.contextValue, cost.requested, cost.actual);
        const report = () => {
          const body = rc.response.body;
          if (body.kind !== 'single') return;
          body.singleResult.extensions = { ...body.singleResult.extensions, cost: cost.report() };
        };
        const settling = cost.settle();
        return settling ? settling.then(report) : report();
      },
    };
  };
}
