/**
 * The HTTP front: `/graphql` through Apollo's executeHTTPGraphQLRequest, the probes and
 * `/metrics` (probes.ts), the NDJSON export, and the explorer at `/`. Plain node:http keeps the
 * request path short and the dependencies few.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import { contextFromHeaders, type Context, type ContextDeps } from '../graphql/context';
import { GraphQLError } from 'graphql';
import { badRequest, badUserInput, bodyTooLarge, errorResponse, forbidden, internal, isExpected, serviceUnavailable } from '../shared/errors';
import { parseInstant } from '../shared/instant';
import { describeScopes, type AnyOfScopes } from '../graphql/scopes';
import { satisfies } from '../services/scopes';
import { writeExportNdjson } from '../services/export-stream';
import { decodeExportCursor } from '../services/export';
import { explorerAsset, explorerHtml } from './explorer';
import type { CorsGate } from './cors';
import { RequestDeadline, attachDeadline, withinDeadline } from '../graphql/deadline';
import { DEFAULT_LIMITS } from '../graphql/limits/settings';
import { OperationObservation, attachObservation } from '../graphql/observation';
import type { Metrics } from '../shared/metrics';
import type { RequestSpan, Tracing } from '../shared/tracing';
import { handleLivez, handleMetrics, handleReadyz } from './probes';

/** node:http timeouts (src/config.ts reads them from HTTP_*_TIMEOUT_MS). */
export interface HttpTimeouts {
  /** Receiving a whole request (headers and body). */
  requestTimeoutMs: number;
  /** Receiving the headers. */
  headersTimeoutMs: number;
  /** How long an idle kept-alive connection stays open. */
  keepAliveTimeoutMs: number;
}

export const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpOptions extends ContextDeps {
  apollo: ApolloServer<Context>;
  explorer: boolean;
  /**
   * The scopes the NDJSON export needs: the rule of `Query.exportCustomers` in the SDL, whose feed
   * it streams (src/graphql/scopes.ts `fieldRules`). Without it, any credential may export.
   */
  exportScopes?: AnyOfScopes;
  /** Execution deadline of a GraphQL request (see src/graphql/deadline.ts); defaults to 10 s. */
  executionTimeoutMs?: number;
  /** node:http timeouts; defaults 30 s request, 15 s headers, 5 s keep-alive. */
  timeouts?: HttpTimeouts;
  /** Cross-origin grants (src/http/cors.ts); without it no request gets CORS headers. */
  cors?: CorsGate;
  /** Prometheus metrics, served at `/metrics`; without them nothing is recorded and `/metrics` is 404. */
  metrics?: Metrics;
  /** Required as a bearer token on `/metrics` when set. */
  metricsToken?: string;
  /** OpenTelemetry tracing (src/shared/tracing.ts); without it no span is made. */
  tracing?: Tracing;
}

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      // Stop keeping the body but let the 413 go out before the connection is closed.
      chunks.length = 0;
      req.off('data', onData);
      req.resume();
      reject(new BodyTooLarge());
    };
    req.on('data', onData);
    // Most bodies arrive in one chunk: decode it as it is rather than copy it into a new Buffer first.
    req.on('end', () => resolve((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** Every error this front answers itself, in the one shape (src/shared/errors.ts errorResponse). */
function sendError(res: http.ServerResponse, error: GraphQLError): void {
  const { status, headers, body } = errorResponse(error);
  res.writeHead(status, headers);
  res.end(body);
}

function requestIdOf(req: http.IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : crypto.randomUUID();
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (!contentType?.toLowerCase().includes('application/json')) return text;
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The request's headers as Apollo's HeaderMap (repeated headers joined, as node:http does). */
function headerMapOf(req: http.IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/**
 * A GraphQL request, observed when metrics or tracing are on: timed from here to the response,
 * described by the observation concern (src/graphql/observation.ts), recorded once, and run
 * inside its span so the statements it makes are the span's children.
 */
function handleGraphql(req: http.IncomingMessage, res: http.ServerResponse, search: string, options: HttpOptions, requestId: string): Promise<void> {
  const { metrics, tracing } = options;
  if (!metrics && !tracing) return answerGraphql(req, res, search, options, requestId, undefined);
  const observation = new OperationObservation();
  const started = process.hrtime.bigint();
  const observed = (span: RequestSpan | undefined) => () => {
    const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics?.recordOperation({ ...observation, durationSeconds });
    span?.end(spanEnd(observation, requestId, res.statusCode));
  };
  if (!tracing) return answerGraphql(req, res, search, options, requestId, observation).finally(observed(undefined));
  return tracing.inRequestSpan(req.headers, (span) => answerGraphql(req, res, search, options, requestId, observation).finally(observed(span)));
}

/** OpenTelemetry's GraphQL span name: `query CustomerPage`, the type alone when anonymous. */
function spanEnd(observation: OperationObservation, requestId: string, status: number) {
  const { name, type, outcome } = observation;
  const attributes: Record<string, string | number> = { 'graphql.operation.type': type, 'http.response.status_code': status, request_id: requestId, outcome };
  if (name) attributes['graphql.operation.name'] = name;
  const spanName = name === null ? 'GraphQL Operation' : name === '' ? type : `${type} ${name}`;
  return { name: spanName, attributes, failed: outcome === 'error' };
}

async function answerGraphql(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  search: string,
  options: HttpOptions,
  requestId: string,
  observation: OperationObservation | undefined,
) {
  const headers = headerMapOf(req);
  const text = req.method === 'POST' ? await readBody(req, MAX_BODY_BYTES) : '';
  const body = parseBody(text, req.headers['content-type']);
  if (req.method === 'POST' && req.headers['content-type']?.includes('application/json') && body === undefined) {
    return sendError(res, badRequest('The request body is not valid JSON.'));
  }
  const deadline = new RequestDeadline(options.executionTimeoutMs ?? DEFAULT_LIMITS.executionTimeoutMs);
  const running = options.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search, body },
    context: async () => {
      const context = attachDeadline(await authenticated(options, headers, requestId), deadline);
      return observation ? attachObservation(context, observation) : context;
    },
  });
  const response = await withinDeadline(deadline, running, requestId, () =>
    options.logger.warn({ request_id: requestId, deadlineMs: deadline.timeoutMs }, 'request answered at its execution deadline'),
  );
  if (observation && deadline.answered) observation.outcome = 'error';
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') return void res.end(response.body.string);
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/**
 * Context creation runs before Apollo's request hooks, so a failure there (the database
 * is down during the key lookup) is logged and given its request id here.
 */
async function authenticated(options: HttpOptions, headers: HeaderMap, requestId: string): Promise<Context> {
  try {
    return await contextFromHeaders(options, headers, requestId);
  } catch (error) {
    if (isExpected(error)) throw error;
    options.logger.error({ err: error, request_id: requestId }, 'authentication failed unexpectedly');
    throw internal(requestId);
  }
}

/** `GET /export/customers.ndjson?updatedSince=...&after=...`: the change feed as a stream. */
async function handleExport(req: http.IncomingMessage, res: http.ServerResponse, url: URL, options: HttpOptions, requestId: string) {
  const headers = headerMapOf(req);
  let ctx: Context;
  let afterSeq = 0;
  let updatedSince: string | null = null;
  try {
    ctx = await authenticated(options, headers, requestId);
    if (options.exportScopes && !satisfies(ctx.scopes, options.exportScopes)) {
      throw forbidden(`This credential may not export: the export needs ${describeScopes(options.exportScopes)}.`, options.exportScopes);
    }
    const after = url.searchParams.get('after');
    if (after) afterSeq = decodeExportCursor(ctx.workspace.id, after);
    updatedSince = parseUpdatedSince(url.searchParams.get('updatedSince'));
  } catch (error) {
    options.metrics?.recordExport(error instanceof GraphQLError ? 'refused' : 'failed');
    if (!(error instanceof GraphQLError)) throw error;
    return sendError(res, error);
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
  try {
    await writeExportNdjson(ctx.db, ctx.workspace.id, res, { afterSeq, updatedSince });
    options.metrics?.recordExport('streamed');
  } catch (error) {
    options.metrics?.recordExport('failed');
    // Headers are sent: the missing trailer tells the reader the stream is incomplete.
    if (!res.destroyed) ctx.logger.error({ err: error }, 'export stream failed');
  }
  res.end();
}

function parseUpdatedSince(value: string | null): string | null {
  if (value === null || value === '') return null;
  const instant = parseInstant(value);
  if (instant === null) throw badUserInput('`updatedSince` must be an ISO 8601 date-time such as 2026-01-31T00:00:00Z', 'updatedSince');
  return instant;
}

function handleExplorer(res: http.ServerResponse, url: URL): boolean {
  if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(explorerHtml({ endpoint: '/graphql', title: 'customer-gateway explorer' }));
    return true;
  }
  const asset = explorerAsset(url.pathname);
  if (!asset) return false;
  res.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'public, max-age=31536000, immutable' });
  res.end(asset.body);
  return true;
}

async function route(req: http.IncomingMessage, res: http.ServerResponse, options: HttpOptions, draining: boolean): Promise<void> {
  const requestId = requestIdOf(req);
  res.setHeader('x-request-id', requestId);
  // Before everything else, so error answers (401, 429, 503 ...) carry the grant a browser needs to read them.
  const cors = options.cors?.(req, res) ?? 'continue';
  if (cors === 'answered') return;
  if (cors !== 'continue') return sendError(res, forbidden(cors.refused));
  // Answered while draining too: the readiness probe is how the orchestrator learns of it.
  if (req.method === 'GET' && req.url !== '/graphql') {
    const probing = probe(req, res, options, draining);
    if (probing !== null) return probing;
  }
  if (draining) {
    // Shutting down: requests that arrive now (on kept-alive connections) are turned away
    // untouched, so a load balancer retries them on another instance.
    res.setHeader('connection', 'close');
    return sendError(res, serviceUnavailable('The server is shutting down; retry.'));
  }
  // The usual request (a POST to exactly `/graphql`) needs no WHATWG URL parse: its path is that
  // and its query string empty, which is what the parse would give.
  if (req.url === '/graphql') return handleGraphql(req, res, '', options, requestId);
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/graphql') return handleGraphql(req, res, url.search, options, requestId);
  if (url.pathname === '/export/customers.ndjson' && req.method === 'GET') return handleExport(req, res, url, options, requestId);
  if (options.explorer && req.method === 'GET' && handleExplorer(res, url)) return;
  sendJson(res, 404, { error: 'not found', hint: 'GraphQL is served at /graphql' });
}

/** `/livez`, `/readyz` (and its alias `/health`), `/metrics`; null when the request is none of them. */
function probe(req: http.IncomingMessage, res: http.ServerResponse, options: HttpOptions, draining: boolean): Promise<void> | void | null {
  switch (req.url?.split('?', 1)[0]) {
    case '/livez':
      return handleLivez(res);
    case '/readyz':
    case '/health':
      return handleReadyz(res, options.db, draining);
    case '/metrics':
      return options.metrics ? handleMetrics(req, res, options.metrics, options.metricsToken) : null;
    default:
      return null;
  }
}

export interface GatewayHttpServer extends http.Server {
  /** Stop taking requests: in-flight ones finish and close their connections; new ones get 503. */
  drain(): void;
}

export function createHttpServer(options: HttpOptions): GatewayHttpServer {
  let draining = false;
  const inFlight = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    if (draining) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
    route(req, res, options, draining).catch((error: unknown) => {
      if (error instanceof BodyTooLarge) {
        res.shouldKeepAlive = false;
        return sendError(res, bodyTooLarge(MAX_BODY_BYTES));
      }
      options.logger.error({ err: error, url: req.url }, 'unhandled HTTP error');
      const requestId = res.getHeader('x-request-id');
      if (!res.headersSent) sendError(res, internal(typeof requestId === 'string' ? requestId : undefined));
      else res.end();
    });
  }) as GatewayHttpServer;
  server.requestTimeout = options.timeouts?.requestTimeoutMs ?? 30_000;
  server.headersTimeout = options.timeouts?.headersTimeoutMs ?? 15_000;
  server.keepAliveTimeout = options.timeouts?.keepAliveTimeoutMs ?? 5_000;
  server.drain = () => {
    draining = true;
    server.closeIdleConnections();
    // In-flight responses close their connection when done, so none lingers as keep-alive.
    for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
  };
  return server;
}
