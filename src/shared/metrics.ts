/**
 * Every Prometheus metric the gateway exports: names, labels and buckets in one place
 * (docs/operations.md lists them). One registry per app, so several apps in one process (the
 * tests) each count only their own traffic.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How a GraphQL request ended (the `outcome` label); docs/operations.md says which is which. */
export type OperationOutcome = 'success' | 'error' | 'rejected' | 'throttled';

/** Distinct operation names kept as labels; later names are counted as OTHER_OPERATION. */
export const MAX_OPERATION_NAMES = 200;
export const OTHER_OPERATION = '__other__';
/** A request whose document never parsed (or never reached parsing: bad body, refused credential). */
export const INVALID_OPERATION = '__invalid__';
export const ANONYMOUS_OPERATION = '__anonymous__';

export interface OperationSample {
  /** Null when the document never parsed. */
  name: string | null;
  /** `query`, `mutation`, `subscription`; `unknown` when the document never parsed. */
  type: string;
  outcome: OperationOutcome;
  /** Whether the request reached execution: only then may its name take one of the label slots. */
  executed: boolean;
  durationSeconds: number;
  requestedCost: number | null;
  actualCost: number | null;
}

/** What the webhook sender reports per delivery attempt (its `onAttempt` observer). */
export interface WebhookAttempt {
  outcome: string;
  durationMs: number;
  /** From the change being committed to this attempt. */
  lagMs: number;
}

export interface ConnectionUse {
  inUse: number;
  waiting: number;
}

/** Statement kinds as Kysely names their root nodes; anything else is `other`. */
const STATEMENT_KINDS: Record<string, string> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
  RawNode: 'raw',
};

/**
 * The label slots for operation names. An operation name is the caller's text: without a bound,
 * anyone could make the registry grow without end. The first MAX_OPERATION_NAMES names of
 * operations that reached execution (so a valid credential and a valid document) keep their own
 * label; the rest share OTHER_OPERATION, and a refused request never takes a slot.
 */
class OperationNames {
  private readonly admitted = new Set<string>();

  label(sample: OperationSample): string {
    if (sample.name === null) return INVALID_OPERATION;
    const name = sample.name === '' ? ANONYMOUS_OPERATION : sample.name;
    if (this.admitted.has(name)) return name;
    if (!sample.executed || this.admitted.size >= MAX_OPERATION_NAMES) return OTHER_OPERATION;
    this.admitted.add(name);
    return name;
  }
}

export class Metrics {
  readonly registry = new Registry();
  private readonly names = new OperationNames();

  private readonly operations = new Counter({
    name: 'graphql_operations_total',
    help: 'GraphQL requests by operation name, type and outcome (success, error, rejected, throttled).',
    labelNames: ['operation_name', 'operation_type', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly duration = new Histogram({
    name: 'graphql_operation_duration_seconds',
    help: 'Time from receiving a GraphQL request to its response, by operation name and type.',
    labelNames: ['operation_name', 'operation_type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly cost = new Histogram({
    name: 'graphql_query_cost',
    help: 'Query cost in points: `requested` as priced before running, `actual` as measured on the result.',
    labelNames: ['kind'] as const,
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
    registers: [this.registry],
  });

  private readonly throttled = new Counter({
    name: 'graphql_throttled_requests_total',
    help: "GraphQL requests refused because the caller's rate-limit bucket was empty.",
    registers: [this.registry],
  });

  private readonly exports = new Counter({
    name: 'export_requests_total',
    help: 'Requests to the NDJSON export by outcome (streamed, refused, failed).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly statements = new Histogram({
    name: 'db_statement_duration_seconds',
    help: 'Time the database driver took per statement, by statement kind.',
    labelNames: ['statement'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  private readonly webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly webhookDuration = new Histogram({
    name: 'webhook_delivery_duration_seconds',
    help: 'Time one webhook delivery attempt took.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly webhookLag = new Histogram({
    name: 'webhook_delivery_lag_seconds',
    help: 'Time from a change being committed to a delivery attempt for it.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  private outboxBacklog: (() => number | Promise<number>) | null = null;
  private connections: (() => ConnectionUse) | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Gauges read at scrape time: nothing on the request path.
    const connections = () => this.connections?.();
    const backlog = () => this.outboxBacklog?.();
    new Gauge({
      name: 'db_pool_connections_in_use',
      help: 'Database connections running a statement or transaction (SQLite: its one connection, 0 or 1).',
      registers: [this.registry],
      collect() {
        const use = connections();
        if (use) this.set(use.inUse);
      },
    });
    new Gauge({
      name: 'db_pool_connections_waiting',
      help: 'Statements or transactions waiting for a database connection.',
      registers: [this.registry],
      collect() {
        const use = connections();
        if (use) this.set(use.waiting);
      },
    });
    new Gauge({
      name: 'webhook_outbox_backlog',
      help: 'Webhook deliveries waiting in the outbox.',
      registers: [this.registry],
      async collect() {
        const waiting = await backlog();
        if (waiting !== undefined) this.set(waiting);
      },
    });
  }

  recordOperation(sample: OperationSample): void {
    const name = this.names.label(sample);
    this.operations.labels(name, sample.type, sample.outcome).inc();
    this.duration.labels(name, sample.type).observe(sample.durationSeconds);
    if (sample.outcome === 'throttled') this.throttled.inc();
    if (sample.requestedCost !== null) this.cost.labels('requested').observe(sample.requestedCost);
    if (sample.actualCost !== null) this.cost.labels('actual').observe(sample.actualCost);
  }

  recordExport(outcome: 'streamed' | 'refused' | 'failed'): void {
    this.exports.labels(outcome).inc();
  }

  /** `kind` is the root node kind of Kysely's query (`SelectQueryNode` ...). */
  recordStatement(kind: string, durationSeconds: number): void {
    this.statements.labels(STATEMENT_KINDS[kind] ?? 'other').observe(durationSeconds);
  }

  recordWebhookAttempt(attempt: WebhookAttempt): void {
    this.webhookDeliveries.labels(attempt.outcome).inc();
    this.webhookDuration.observe(attempt.durationMs / 1000);
    this.webhookLag.observe(Math.max(0, attempt.lagMs) / 1000);
  }

  /** Where the pool gauges read from (the store). */
  watchConnections(read: () => ConnectionUse): void {
    this.connections = read;
  }

  /** Where the backlog gauge reads from (the webhook outbox), at scrape time. */
  watchOutboxBacklog(read: () => number | Promise<number>): void {
    this.outboxBacklog = read;
  }

  /** The exposition: Prometheus text format. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
