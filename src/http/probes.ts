/**
 * What an orchestrator and a scraper ask: `/livez` (the process answers), `/readyz` (it can
 * serve: database answering, migrations applied, not draining; `/health` is its alias) and
 * `/metrics` (Prometheus text format).
 */
import type http from 'node:http';
import type { Metrics } from '../shared/metrics';
import { sameSecret } from '../shared/secrets';
import type { Db } from '../store/engine';
import { pendingMigrations } from '../store/db';

/** The longest a readiness check waits for the database before calling it unreachable. */
export const READINESS_TIMEOUT_MS = 1000;

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Never touches the database: a database outage must not get the process restarted. */
export function handleLivez(res: http.ServerResponse): void {
  sendJson(res, 200, { status: 'ok' });
}

type Readiness = { ready: true } | { ready: false; reason: string };

/** Reading the migration table is the ping: it answers both "is the database there" and "is it migrated". */
async function readiness(db: Db, draining: boolean): Promise<Readiness> {
  if (draining) return { ready: false, reason: 'draining: the gateway is shutting down' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), READINESS_TIMEOUT_MS)));
  try {
    const pending = await Promise.race([pendingMigrations(db), timeout]);
    if (pending === 'timeout') return { ready: false, reason: `database did not answer within ${READINESS_TIMEOUT_MS} ms` };
    if (pending.length > 0) return { ready: false, reason: `migrations not applied: ${pending.join(', ')}` };
    return { ready: true };
  } catch {
    return { ready: false, reason: 'database unreachable' };
  } finally {
    clearTimeout(timer);
  }
}

export async function handleReadyz(res: http.ServerResponse, db: Db, draining: boolean): Promise<void> {
  const state = await readiness(db, draining);
  if (state.ready) sendJson(res, 200, { status: 'ok' });
  else sendJson(res, 503, { status: 'unavailable', reason: state.reason });
}

/** With a token configured, only `Authorization: Bearer <METRICS_TOKEN>` may read the metrics. */
export async function handleMetrics(req: http.IncomingMessage, res: http.ServerResponse, metrics: Metrics, token: string | undefined): Promise<void> {
  if (token !== undefined) {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!sameSecret(presented, token)) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' });
      return void res.end('metrics need `Authorization: Bearer <METRICS_TOKEN>`\n');
    }
  }
  const { contentType, body } = await metrics.scrape();
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}
