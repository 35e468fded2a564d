/**
 * OpenTelemetry traces over OTLP/HTTP, on only when an OTLP endpoint is configured
 * (src/config.ts reads the standard OTEL_* variables). The SDK is imported when tracing starts,
 * so a gateway without it loads none of it and its request path never calls into it: the HTTP
 * front and the statement hook check for a Tracing object, nothing more.
 *
 * The span per operation is opened by the HTTP front around the whole request, so everything
 * the request runs (the graphql-jit executor included, which graphql-js instrumentation would
 * not see) happens inside it; statements become its children through the SDK's
 * AsyncLocalStorage context. The provider is registered globally so that code using the plain
 * API (`trace.getTracer('customer-gateway')`, the webhook sender) lands in the same pipeline.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Attributes, Span } from '@opentelemetry/api';

export type TracesSampler =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export const TRACES_SAMPLERS: readonly TracesSampler[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

/** OTLP over HTTP, as OTEL_EXPORTER_OTLP_PROTOCOL names it. */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json'];

export interface TracingSettings {
  /** Where spans are posted (the full URL, `/v1/traces` included). */
  tracesUrl: string;
  protocol: OtlpProtocol;
  /** Extra headers for the collector (OTEL_EXPORTER_OTLP_HEADERS). */
  headers: Record<string, string>;
  serviceName: string;
  sampler: TracesSampler;
  /** The ratio of the `traceidratio` samplers, 0 to 1. */
  samplerRatio: number;
}

/** What the HTTP front sets on a request's span once the request is answered. */
export interface RequestSpanEnd {
  name: string;
  attributes: Attributes;
  failed: boolean;
}

export interface RequestSpan {
  end(result: RequestSpanEnd): void;
}

export interface Tracing {
  /** Runs `work` inside a server span that continues the caller's W3C `traceparent`, if any. */
  inRequestSpan<T>(headers: IncomingHttpHeaders, work: (span: RequestSpan) => Promise<T>): Promise<T>;
  /** A statement that just finished, as a child of the current request's span (none outside a request). */
  statement(dbSystem: 'sqlite' | 'postgresql', kind: string, sqlText: string, durationMs: number, failed: boolean): void;
  /** `trace_id` and `span_id` of the current span, for log lines; nothing outside a span. */
  logFields: () => Record<string, string>;
  /** Sends the spans still buffered and unregisters the provider. */
  shutdown(): Promise<void>;
}

const TRACER_NAME = 'customer-gateway';

/** Kysely's root node kinds as the operation part of a statement span's name. */
const STATEMENT_NAMES: Record<string, string> = {
  SelectQueryNode: 'SELECT',
  InsertQueryNode: 'INSERT',
  UpdateQueryNode: 'UPDATE',
  DeleteQueryNode: 'DELETE',
};

/* eslint-disable @typescript-eslint/no-require-imports -- loaded here only, so a gateway without tracing never loads the SDK */
function loadSdk() {
  return {
    api: require('@opentelemetry/api') as typeof import('@opentelemetry/api'),
    sdk: require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node'),
    exporters: {
      'http/json': () => (require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter,
      'http/protobuf': () => (require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter,
    },
    resources: require('@opentelemetry/resources') as typeof import('@opentelemetry/resources'),
    semconv: require('@opentelemetry/semantic-conventions') as typeof import('@opentelemetry/semantic-conventions'),
  };
}
/* eslint-enable @typescript-eslint/no-require-imports */

export function startTracing(settings: TracingSettings): Tracing {
  const { api, sdk, exporters, resources, semconv } = loadSdk();
  const OTLPTraceExporter = exporters[settings.protocol]();
  const { resourceFromAttributes } = resources;
  const { ATTR_SERVICE_NAME } = semconv;

  const ratio = new sdk.TraceIdRatioBasedSampler(settings.samplerRatio);
  const samplers = {
    always_on: () => new sdk.AlwaysOnSampler(),
    always_off: () => new sdk.AlwaysOffSampler(),
    traceidratio: () => ratio,
    parentbased_always_on: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: () => new sdk.ParentBasedSampler({ root: ratio }),
  } satisfies Record<TracesSampler, () => unknown>;
  const exporter = new OTLPTraceExporter({ url: settings.tracesUrl, headers: settings.headers });
  const provider = new sdk.NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    sampler: samplers[settings.sampler](),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
  });
  // Sets the global tracer provider, the AsyncLocalStorage context manager and the W3C propagator.
  provider.register();
  const tracer = provider.getTracer(TRACER_NAME);
  const { context, propagation, trace, SpanKind, SpanStatusCode } = api;

  const getHeader = (carrier: IncomingHttpHeaders, key: string) => carrier[key];
  const headerGetter = { get: getHeader, keys: (carrier: IncomingHttpHeaders) => Object.keys(carrier) };

  return {
    inRequestSpan(headers, work) {
      const parent = propagation.extract(context.active(), headers, headerGetter);
      const span: Span = tracer.startSpan('GraphQL Operation', { kind: SpanKind.SERVER }, parent);
      const requestSpan: RequestSpan = {
        end({ name, attributes, failed }) {
          span.updateName(name);
          span.setAttributes(attributes);
          if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
      };
      return context.with(trace.setSpan(parent, span), () => work(requestSpan));
    },
    statement(dbSystem, kind, sqlText, durationMs, failed) {
      const active = context.active();
      if (!trace.getSpan(active)) return;
      const endTime = Date.now();
      const span = tracer.startSpan(
        STATEMENT_NAMES[kind] ?? 'SQL',
        { kind: SpanKind.CLIENT, startTime: endTime - durationMs, attributes: { 'db.system.name': dbSystem, 'db.query.text': sqlText } },
        active,
      );
      if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(endTime);
    },
    logFields: (): Record<string, string> => {
      const span = trace.getSpan(context.active());
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
