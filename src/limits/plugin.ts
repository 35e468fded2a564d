/**
 * The Apollo plugin that prices every operation before it runs, refuses the ones over
 * MAX_QUERY_COST, charges the caller's rate-limit bucket, refunds what the operation did not
 * use, and reports it all in `extensions.cost` on every response.
 */
import {
  HeaderMap,
  type GraphQLRequestContextDidResolveOperation,
  type GraphQLRequestContextWillSendResponse,
} from '@apollo/server';
import { GraphQLError } from 'graphql';
import { loadConfig, type Config } from '../config';
import type { Context } from '../context';
import { ErrorCode } from '../errors';
import type { Logger } from '../logger';
import type { RequestConcern } from '../request-hooks';
import type { Store } from '../store/db';
import { actualQueryCost, queryTooComplex, requestedQueryCost, resultWalk, type ResultWalk } from './cost';
import { DocumentMemo, requestSignature } from './memo';
import { createBucketStore, retryAfterSeconds, type BucketSettings, type BucketStatus, type BucketStore, type Clock } from './rate-limit';

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

/** The limits a gateway runs with: buckets in memory on SQLite, in the database on PostgreSQL. */
export function limitsFromConfig(config: Config, store: Pick<Store, 'db' | 'engine'>, clock?: Clock): Limits {
  const bucket = { capacity: config.rateLimitBucket, restorePerSecond: config.rateLimitRestore };
  return {
    maxQueryCost: config.maxQueryCost,
    bucket,
    buckets: config.rateLimit ? createBucketStore(store.engine, store.db, bucket, clock) : null,
  };
}

/** The configuration's default cost limit and no buckets: a server built without a config (tests). */
export function defaultLimits(): Limits {
  const config = loadConfig({});
  return { maxQueryCost: config.maxQueryCost, bucket: { capacity: config.rateLimitBucket, restorePerSecond: config.rateLimitRestore }, buckets: null };
}

function throttled(settings: BucketSettings, cost: number, available: number): GraphQLError {
  const seconds = retryAfterSeconds(settings, cost, available);
  return new GraphQLError(
    `Throttled: this query costs ${cost} points and the API key has ${Math.floor(available)} available ` +
      `(${settings.restorePerSecond} restored per second). Retry after ${seconds} s.`,
    {
      extensions: {
        code: ErrorCode.THROTTLED,
        retryAfterSeconds: seconds,
        http: { status: 429, headers: new HeaderMap([['retry-after', String(seconds)]]) },
      },
    },
  );
}

function overLimit(cost: number, max: number): GraphQLError {
  return queryTooComplex(
    `The query costs ${cost} points, over the limit of ${max} per operation. Ask for smaller pages (first/last) or fewer nested connections.`,
    { requestedQueryCost: cost, maxQueryCost: max },
  );
}

/** Requested costs and result walks per document and variables signature (src/limits/memo.ts), one set per server. */
interface Memos {
  requested: DocumentMemo<number>;
  walks: DocumentMemo<ResultWalk | null>;
}

/** Everything one request's hooks share. */
class RequestCost {
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

  async check(rc: GraphQLRequestContextDidResolveOperation<Context>): Promise<void> {
    const operation = { schema: rc.schema, document: rc.document, operationName: rc.operationName, variables: rc.request.variables };
    const signature = requestSignature(rc.contextValue, rc.schema, rc.document, rc.operationName, rc.request.variables);
    this.requested = this.memos.requested.get(rc.document, signature, () => requestedQueryCost(operation));
    const max = this.limits.maxQueryCost;
    if (max > 0 && this.requested > max) throw overLimit(this.requested, max);
    if (!this.buckets) return;
    // A query dearer than the whole bucket (possible only with MAX_QUERY_COST off or above it) needs a full bucket.
    const cost = Math.min(this.requested, this.buckets.settings.capacity);
    this.charging = this.buckets.charge(this.keyId, cost).then((status) => {
      this.status = status;
      if (status.granted) this.charged = cost;
    });
    await this.charging;
    if (!this.status?.granted) throw throttled(this.buckets.settings, cost, this.status?.available ?? 0);
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

  /** Refunds what was charged but not used; reads the bucket when nothing was charged. */
  async settle(): Promise<void> {
    if (!this.buckets) return;
    await this.charging?.catch(() => undefined);
    try {
      const refund = this.charged - Math.min(this.charged, this.actual ?? 0);
      if (refund > 0) this.status = await this.buckets.refund(this.keyId, refund);
      else if (!this.status) this.status = await this.buckets.charge(this.keyId, 0);
    } catch (error) {
      // The response is ready; a bucket that could not be refunded only makes this key wait a little.
      this.logger.warn({ err: error }, 'rate-limit bucket could not be updated after the request');
    }
  }

  report(): CostReport {
    const { capacity, restorePerSecond } = this.limits.bucket;
    const available = this.buckets ? (this.status?.available ?? capacity) : capacity;
    return {
      requestedQueryCost: this.requested,
      actualQueryCost: this.actual,
      throttleStatus: { maximumAvailable: capacity, currentlyAvailable: Math.floor(available), restoreRate: restorePerSecond },
    };
  }
}

export function costConcern(limits: Limits, logger: Logger): RequestConcern<Context> {
  const memos: Memos = { requested: new DocumentMemo(), walks: new DocumentMemo() };
  return ({ contextValue }) => {
    const key = contextValue.apiKey;
    // Keys created with --no-rate-limit (trusted back-office jobs) are priced but never throttled.
    const buckets = key?.rateLimited ? limits.buckets : null;
    const cost = new RequestCost(limits, buckets, key?.id ?? '', logger, memos);
    return {
      didResolveOperation: (rc) => cost.check(rc),
      executionDidStart() {
        cost.executed = true;
      },
      async willSendResponse(rc) {
        cost.measure(rc);
        await cost.settle();
        const body = rc.response.body;
        if (body.kind !== 'single') return;
        body.singleResult.extensions = { ...body.singleResult.extensions, cost: cost.report() };
      },
    };
  };
}
