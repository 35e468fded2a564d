/**
 * Cross-origin access for browser clients (CORS_ORIGINS): the maintained `cors` middleware writes
 * the headers; this module decides who gets them. Only an origin on the exact-match allow-list
 * gets a grant. Every other origin gets no CORS header at all, and its preflight is refused here
 * instead of reaching Apollo (which would answer it as a CSRF failure). Requests without `Origin`
 * pass untouched, and Apollo's CSRF prevention still judges every request that is not a preflight.
 */
import type http from 'node:http';
import cors from 'cors';
import { REPLAYED_HEADER } from '../graphql/idempotency';

/** The request headers browser clients send (DESIGN.md, "Browsers, end users and least privilege"). */
const CORS_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'x-api-key',
  'idempotency-key',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'x-actor',
  'x-via',
  // The front adopts a well-formed client request id, so a browser may send its own.
  'x-request-id',
] as const;

/** Response headers a browser page may read besides the CORS-safelisted ones. */
const CORS_EXPOSED_HEADERS = ['x-request-id', 'retry-after', REPLAYED_HEADER] as const;

const CORS_METHODS = ['GET', 'POST', 'OPTIONS'] as const;

/** How long a browser may reuse a preflight answer, in seconds. */
const CORS_MAX_AGE_SECONDS = 600;

/**
 * What the gate did with a request: `continue` (to its route, with any CORS headers it is due),
 * `answered` (a granted preflight, already sent) or `refused` (a preflight from an origin outside
 * the list, for the front to answer 403 FORBIDDEN with the message).
 */
export type CorsVerdict = 'continue' | 'answered' | { refused: string };

export type CorsGate = (req: http.IncomingMessage, res: http.ServerResponse) => CorsVerdict;

export function createCorsGate(allowedOrigins: readonly string[]): CorsGate {
  const allowed = new Set(allowedOrigins);
  const grant = cors({
    origin: true,
    methods: [...CORS_METHODS],
    allowedHeaders: [...CORS_ALLOWED_HEADERS],
    exposedHeaders: [...CORS_EXPOSED_HEADERS],
    maxAge: CORS_MAX_AGE_SECONDS,
  });
  return (req, res) => {
    const origin = req.headers.origin;
    if (origin === undefined) return 'continue';
    if (allowed.has(origin)) {
      // With static options the middleware runs synchronously: it either answers the preflight
      // or sets the response headers and calls next before returning.
      let next = false;
      grant(req, res, () => void (next = true));
      return next ? 'continue' : 'answered';
    }
    if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return 'continue';
    return { refused: `The origin ${origin} may not call this gateway from a browser: it is not in CORS_ORIGINS.` };
  };
}
