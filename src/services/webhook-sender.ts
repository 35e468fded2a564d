/**
 * The in-process webhook sender: claims due deliveries (leased, so several gateway instances
 * on one PostgreSQL database share the work and each attempt is made once), signs and posts
 * them, and records each attempt and what follows from it (src/services/webhook-schedule.ts).
 * It runs beside the request path and never inside it: a mutation only writes its outbox row.
 */
import crypto from 'node:crypto';
import { trace, SpanStatusCode } from '@opentelemetry/api';
import { messageOf } from '../shared/errors';
import { newId } from '../shared/ids';
import type { Logger } from '../shared/logger';
import { withTransaction, type Db } from '../store/engine';
import { claimDueDeliveries, pruneWebhooks, recordAttempt, releaseLeases, type ClaimedDelivery } from '../store/webhooks.repository';
import { dottedType, eventBody, listenToOutbox } from './webhook-events';
import { afterAttempt } from './webhook-schedule';
import { signedHeaders } from './webhook-signing';
import { postWebhook, type TransportOptions } from './webhook-target';

/** One attempt, for metrics: the lead wires it to /metrics. */
export interface AttemptObservation {
  outcome: 'delivered' | 'failed' | 'gone';
  durationMs: number;
  /** From the event's commit to this attempt's end. */
  lagMs: number;
}

export interface SenderOptions {
  db: Db;
  logger: Logger;
  transport: TransportOptions;
  /** WEBHOOK_RETENTION_DAYS. */
  retentionDays: number;
  now?: () => number;
  random?: () => number;
  onAttempt?: (observation: AttemptObservation) => void;
  /** How often to look for due deliveries when nothing pokes the sender. */
  pollIntervalMs?: number;
  /** Deliveries claimed (and sent in parallel) at a time. */
  batchSize?: number;
}

/** Longer than one attempt may take (TOTAL_TIMEOUT_MS), so a live sender never loses its lease. */
const LEASE_MS = 60_000;
const RETENTION_EVERY_MS = 3600_000;

export class WebhookSender {
  private readonly owner = `sender-${crypto.randomUUID()}`;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private again = false;
  private lastPrune = 0;
  private readonly inFlight = new Set<string>();
  private unlisten: (() => void) | null = null;

  constructor(private readonly options: SenderOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.batchSize = options.batchSize ?? 16;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unlisten = listenToOutbox(() => this.poke());
    this.schedule(0);
  }

  /** Looks for work soon (an event was just written; its commit follows within moments). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(5);
  }

  /**
   * Stops claiming, lets attempts in flight finish for up to `graceMs`, then releases the
   * leases of any still running so another sender (or the next start) takes them at once.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    this.unlisten = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.running, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    if (this.inFlight.size > 0) await releaseLeases(this.options.db, this.owner, [...this.inFlight]);
  }

  /** Claims and sends due deliveries until none is due; returns how many attempts were made. */
  async drain(): Promise<number> {
    let attempts = 0;
    for (;;) {
      const claimed = await withTransaction(this.options.db, (trx) => claimDueDeliveries(trx, this.owner, this.now(), this.now() + LEASE_MS, this.batchSize));
      if (claimed.length === 0) return attempts;
      await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
      attempts += claimed.length;
      if (this.stopped) return attempts;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.tick().finally(() => {
        this.running = null;
        const again = this.again;
        this.again = false;
        this.schedule(again ? 0 : this.pollIntervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.drain();
      if (this.now() - this.lastPrune >= RETENTION_EVERY_MS) {
        this.lastPrune = this.now();
        const pruned = await withTransaction(this.options.db, (trx) => pruneWebhooks(trx, this.now() - this.options.retentionDays * 86_400_000));
        if (pruned.attempts + pruned.events > 0) this.options.logger.info(pruned, 'webhook retention pruned old events and attempts');
      }
    } catch (error) {
      // The database may be briefly unavailable; the next poll tries again.
      if (!this.stopped) this.options.logger.warn({ err: error }, 'webhook sender could not claim or record deliveries');
    }
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    this.inFlight.add(delivery.id);
    try {
      await trace.getTracer('customer-gateway').startActiveSpan(`webhook ${dottedType(delivery.eventType)}`, async (span) => {
        span.setAttributes({ 'webhook.event_id': delivery.eventId, 'webhook.endpoint_id': delivery.endpointId, 'webhook.attempt': delivery.attempts + 1 });
        try {
          const started = this.now();
          const body = eventBody(delivery.eventType, delivery.eventCreatedAt, delivery.eventData);
          const { secrets } = delivery;
          const keys = [secrets.secret, ...(secrets.previousSecret && (secrets.previousSecretExpiresAt ?? 0) > started ? [secrets.previousSecret] : [])];
          // The receiver checks the timestamp against its own clock: the wall clock, not the schedule's.
          const headers = signedHeaders(keys, delivery.eventId, Math.floor(Date.now() / 1000), body);
          const response = await postWebhook(delivery.url, { ...headers }, body, this.options.transport);
          const ended = this.now();
          const verdict = afterAttempt({
            responseCode: response.status,
            previousAttempts: delivery.attempts,
            firstAttemptAt: delivery.firstAttemptAt,
            failingSince: delivery.failingSince,
            now: ended,
            random: this.random,
          });
          if (response.status !== null) span.setAttribute('http.response.status_code', response.status);
          if (verdict.state !== 'DELIVERED') span.setStatus({ code: SpanStatusCode.ERROR, message: response.error ?? `status ${response.status}` });
          const kept = await withTransaction(this.options.db, (trx) =>
            recordAttempt(trx, {
              attemptId: newId(),
              delivery,
              owner: this.owner,
              status: verdict.state === 'DELIVERED' ? 'SUCCEEDED' : 'FAILED',
              responseCode: response.status,
              error: response.error,
              durationMs: ended - started,
              attemptedAt: ended,
              state: verdict.state,
              nextAttemptAt: verdict.nextAttemptAt,
              failingSince: verdict.failingSince,
              disableReason: verdict.disableReason,
            }),
          );
          if (verdict.state !== 'DELIVERED') {
            this.options.logger.info(
              { endpointId: delivery.endpointId, eventId: delivery.eventId, status: response.status, error: response.error, nextAttemptAt: verdict.nextAttemptAt, disabled: verdict.disableReason },
              'webhook attempt failed',
            );
          }
          // Observed even when not kept (the lease was lost, or the endpoint deleted meanwhile): the request was made.
          this.options.onAttempt?.({
            outcome: verdict.state === 'DELIVERED' ? 'delivered' : response.status === 410 ? 'gone' : 'failed',
            durationMs: ended - started,
            lagMs: ended - delivery.eventCreatedAt,
          });
          if (!kept) this.options.logger.warn({ deliveryId: delivery.id }, 'webhook attempt finished after its lease was taken over or its endpoint deleted; not recorded');
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
          throw error;
        } finally {
          span.end();
        }
      });
    } finally {
      this.inFlight.delete(delivery.id);
    }
  }
}
