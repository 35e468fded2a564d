/**
 * The HTTP front: `/graphql` through Apollo's executeHTTPGraphQLRequest, `/health`, and the
 * explorer at `/`. Plain node:http keeps the request path short and the dependencies few.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { sql } from 'kysely';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import { contextFromHeaders, type Context, type ContextDeps } from './context';
import { ErrorCode } from './errors';
import { explorerAsset, explorerHtml } from './explorer';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpOptions extends ContextDeps {
  apollo: ApolloServer<Context>;
  explorer: boolean;
}

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
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

async function handleGraphql(req: http.IncomingMessage, res: http.ServerResponse, url: URL, options: HttpOptions) {
  const requestId = requestIdOf(req);
  res.setHeader('x-request-id', requestId);
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const text = req.method === 'POST' ? await readBody(req, MAX_BODY_BYTES) : '';
  const body = parseBody(text, req.headers['content-type']);
  if (req.method === 'POST' && req.headers['content-type']?.includes('application/json') && body === undefined) {
    return sendJson(res, 400, { errors: [{ message: 'The request body is not valid JSON.', extensions: { code: ErrorCode.BAD_REQUEST } }] });
  }
  const response = await options.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
    context: () => contextFromHeaders(options, headers, requestId),
  });
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') return void res.end(response.body.string);
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

async function handleHealth(res: http.ServerResponse, options: HttpOptions) {
  try {
    await sql`select 1`.execute(options.db);
    sendJson(res, 200, { status: 'ok' });
  } catch {
    sendJson(res, 503, { status: 'unavailable', reason: 'database unreachable' });
  }
}

function handleExplorer(res: http.ServerResponse, url: URL): boolean {
  if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(explorerHtml({ endpoint: '/graphql', title: 'customer-gateway explorer' }));
    return true;
  }
  const asset = explorerAsset(url.pathname);
  if (!asset) return false;
  res.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'public, max-age=3600' });
  res.end(asset.body);
  return true;
}

async function route(req: http.IncomingMessage, res: http.ServerResponse, options: HttpOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/graphql') return handleGraphql(req, res, url, options);
  if (url.pathname === '/health' && req.method === 'GET') return handleHealth(res, options);
  if (options.explorer && req.method === 'GET' && handleExplorer(res, url)) return;
  sendJson(res, 404, { error: 'not found', hint: 'GraphQL is served at /graphql' });
}

export function createHttpServer(options: HttpOptions): http.Server {
  const server = http.createServer((req, res) => {
    route(req, res, options).catch((error: unknown) => {
      if (error instanceof BodyTooLarge) {
        return sendJson(res, 413, { errors: [{ message: `The request body exceeds ${MAX_BODY_BYTES} bytes.`, extensions: { code: ErrorCode.BAD_REQUEST } }] }, { connection: 'close' });
      }
      options.logger.error({ err: error, url: req.url }, 'unhandled HTTP error');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error.', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }] });
      else res.end();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  return server;
}
