/** autocannon has no type declarations: the part of its API the benchmarks use. */
export interface Histogram {
  average: number;
  mean: number;
  stddev: number;
  min: number;
  max: number;
  total: number;
  p50: number;
  p90: number;
  p99: number;
}
export interface AutocannonResult {
  requests: Histogram & { sent: number };
  latency: Histogram;
  throughput: Histogram;
  duration: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats?: Record<string, { count: number }>;
}
export interface AutocannonRequest {
  body?: string;
  setupRequest?: (request: { body?: string | Buffer }, context: unknown) => { body?: string | Buffer };
  onResponse?: (status: number, body: string) => void;
}
export interface AutocannonInstance extends Promise<AutocannonResult> {
  stop(): void;
}
export type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  method: 'POST';
  headers: Record<string, string>;
  body?: string;
  requests?: AutocannonRequest[];
  verifyBody?: (body: string) => boolean;
  timeout?: number;
}) => AutocannonInstance;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- autocannon ships no types; the cast gives it the declaration above
export const autocannon = require('autocannon') as Autocannon;
