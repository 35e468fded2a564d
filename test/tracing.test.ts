/**
 * Traces over OTLP/HTTP JSON to a collector on loopback: the span of an operation continues the
 * caller's `traceparent`, is named `<type> <name>`, has its statements as children, and the log
 * line of the same request carries its trace id. The compiled gateway runs in its own process,
 * as in production: the OTLP exporter loads node:http through a dynamic import, which jest's
 * module sandbox does not run. Also the OTEL_* variables the config reads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { loadConfig } from '../src/config';
import { createTestDatabase, type TestDatabase } from './databases';

const SERVER = path.resolve(__dirname, '../dist/src/index.js');

jest.setTimeout(60_000);

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: number | string } }[];
}

interface OtlpExport {
  resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** An OTLP/HTTP collector that keeps what it is sent. */
async function startCollector(): Promise<{ url: string; exports: OtlpExport[]; protobufBodies: Buffer[]; paths: string[]; close(): Promise<void> }> {
  const exports: OtlpExport[] = [];
  const protobufBodies: Buffer[] = [];
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      if (req.headers['content-type'] === 'application/x-protobuf') {
        protobufBodies.push(body);
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      } else {
        exports.push(JSON.parse(body.toString('utf8')) as OtlpExport);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports,
    protobufBodies,
    paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

/** The first start's bootstrap key: later starts on the same database print none. */
let bootstrapKey = '';

/** The compiled gateway (`npx tsc -p tsconfig.build.json` first) in its own process, logging JSON to a pipe. */
async function startGatewayProcess(env: Record<string, string>): Promise<{ url: string; key: string; child: ChildProcess; lines: Record<string, unknown>[] }> {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', EXPLORER: 'false' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  let url = '';
  let key = bootstrapKey;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('gateway did not start within 30 s'));
    }, 30_000);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.startsWith('{')) {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        lines.push(parsed);
        if (parsed.msg === 'customer-gateway listening') url = (parsed.url as string).replace('localhost', '127.0.0.1').replace(/\/graphql$/, '');
      } else {
        // The first start prints the bootstrap key on a line of its own (not necessarily after the line above).
        key ||= bootstrapKey = /^\s+(cgk_\S+)$/.exec(line)?.[1] ?? '';
      }
      if (key && url) {
        clearTimeout(timer);
        resolve({ url, key, child, lines });
      }
    });
  });
}

describe('tracing', () => {
  let database: TestDatabase;
  let collector: Awaited<ReturnType<typeof startCollector>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    collector = await startCollector();
  });

  afterAll(async () => {
    await collector.close();
    await database.drop();
  });

  it("continues the caller's traceparent with a span per operation, statements as its children, and the trace id in the request's log line", async () => {
    const gateway = await startGatewayProcess({
      ...database.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'gateway-under-test',
    });
    const traceId = crypto.randomBytes(16).toString('hex');
    const parentId = crypto.randomBytes(8).toString('hex');
    const res = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway.key}`, traceparent: `00-${traceId}-${parentId}-01`, 'x-request-id': 'traced-1' },
      body: JSON.stringify({ query: 'query CustomerPage { customers(first: 2) { nodes { id } } }' }),
    });
    expect(res.status).toBe(200);
    await res.json();
    // Stopping flushes the spans still buffered.
    const exited = new Promise((resolve) => gateway.child.once('exit', resolve));
    gateway.child.kill('SIGTERM');
    expect(await exited).toBe(0);

    expect(collector.paths.length).toBeGreaterThan(0);
    expect(collector.paths.filter((path) => path.startsWith('POST /v1/traces application/json')).length).toBeGreaterThan(0);
    const resources = collector.exports.flatMap((e) => e.resourceSpans);
    expect(resources.some((r) => r.resource.attributes.some((a) => a.key === 'service.name' && a.value.stringValue === 'gateway-under-test'))).toBe(true);
    const spans = resources.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).filter((s) => s.traceId === traceId);
    const operation = spans.find((s) => s.name === 'query CustomerPage');
    expect(operation).toBeDefined();
    expect(operation!.parentSpanId).toBe(parentId);
    expect(operation!.kind).toBe(2); // SERVER
    expect(attribute(operation!, 'graphql.operation.type')).toBe('query');
    expect(attribute(operation!, 'graphql.operation.name')).toBe('CustomerPage');
    expect(attribute(operation!, 'request_id')).toBe('traced-1');
    const statements = spans.filter((s) => s.parentSpanId === operation!.spanId);
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.every((s) => ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'SQL'].includes(s.name) && s.kind === 3)).toBe(true); // CLIENT
    const page = statements.find((s) => s.name === 'SELECT' && /from "customers"/.test(String(attribute(s, 'db.query.text'))));
    expect(page).toBeDefined();
    expect(attribute(page!, 'db.system.name')).toBe(database.env.DATABASE_URL ? 'postgresql' : 'sqlite');

    const line = gateway.lines.find((l) => l.msg === 'graphql request' && l.request_id === 'traced-1');
    expect(line).toMatchObject({ trace_id: traceId, span_id: operation!.spanId, operationName: 'CustomerPage' });
    // Lines outside a request carry no trace.
    expect(gateway.lines.filter((l) => l.msg !== 'graphql request').every((l) => l.trace_id === undefined)).toBe(true);
  });

  it('sends OTLP/HTTP protobuf, the default protocol, carrying the continued trace id', async () => {
    const gateway = await startGatewayProcess({ ...database.env, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
    const traceId = crypto.randomBytes(16).toString('hex');
    const res = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway.key}`, traceparent: `00-${traceId}-${crypto.randomBytes(8).toString('hex')}-01` },
      body: JSON.stringify({ query: 'query Who { workspace { name } }' }),
    });
    expect(res.status).toBe(200);
    await res.json();
    const exited = new Promise((resolve) => gateway.child.once('exit', resolve));
    gateway.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(collector.paths).toContain('POST /v1/traces application/x-protobuf');
    // Protobuf carries the trace id as its 16 raw bytes, and the span's name as plain UTF-8.
    const sent = Buffer.concat(collector.protobufBodies);
    expect(sent.includes(Buffer.from(traceId, 'hex'))).toBe(true);
    expect(sent.includes(Buffer.from('query Who'))).toBe(true);
  });
});

describe('tracing off', () => {
  it('loads no OpenTelemetry SDK (nor the pretty printer) when no OTLP endpoint is set, through start, a request and stop', async () => {
    const database = await createTestDatabase();
    const dist = path.resolve(__dirname, '../dist/src');
    const script = `
      const { createApp } = require(${JSON.stringify(`${dist}/app.js`)});
      const { loadConfig } = require(${JSON.stringify(`${dist}/config.js`)});
      const { createLogger } = require(${JSON.stringify(`${dist}/shared/logger.js`)});
      (async () => {
        const app = await createApp({ config: loadConfig({ ...process.env, PORT: '0' }), logger: createLogger('silent', { format: 'json' }) });
        const url = await app.listen(0, '127.0.0.1');
        const res = await fetch(url + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ workspace { name } }"}' });
        await res.text();
        await app.stop(1000);
        // The API package alone may be there: prom-client's default metrics load it (exemplars); a no-op without an SDK.
        const loaded = Object.keys(require.cache).filter((file) => /@opentelemetry\\/(?!api\\/)|pino-pretty/.test(file));
        process.stdout.write(JSON.stringify({ status: res.status, loaded }));
      })();`;
    try {
      const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...database.env }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      await new Promise((resolve) => child.once('exit', resolve));
      expect(JSON.parse(out)).toEqual({ status: 401, loaded: [] });
    } finally {
      await database.drop();
    }
  });
});

describe('tracing configuration', () => {
  it('is off without an OTLP endpoint, and reads the standard OTEL_* variables when one is set', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: {},
      serviceName: 'customer-gateway',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/otlp/traces',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D%3D, tenant=t1',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'gw-eu',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }).tracing,
    ).toEqual({
      tracesUrl: 'https://collector.example/otlp/traces',
      protocol: 'http/json',
      headers: { 'x-api-key': 'abc==', tenant: 't1' },
      serviceName: 'gw-eu',
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
  });

  it('names a bad OTEL_* value at start', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(() => loadConfig({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
    expect(() => loadConfig({ ...endpoint, OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => loadConfig({ ...endpoint, OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});
