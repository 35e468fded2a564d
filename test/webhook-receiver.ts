/**
 * A webhook receiver on a loopback port that verifies every request with the `standardwebhooks`
 * package (an independent implementation of the spec) against the secrets it is given.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The parsed body, when some given secret verified it; null when none did. */
  verified: Record<string, unknown> | null;
  status: number;
  at: number;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** The status to answer the next requests with (default 200). */
  respond: (request: { id: string; count: number }) => number;
  secrets: string[];
  /** Resolves once `count` requests have been received. */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const receiver: Receiver = {
    url: '',
    port: 0,
    received,
    respond: () => 200,
    secrets: [],
    waitFor(count, timeoutMs = 20_000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`received ${received.length} of ${count} webhooks in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve(received)) });
      });
    },
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => String(req.headers[name] ?? '');
      let verified: Record<string, unknown> | null = null;
      for (const secret of receiver.secrets) {
        try {
          verified = new Webhook(secret).verify(body, req.headers as Record<string, string>) as Record<string, unknown>;
          break;
        } catch {
          // another secret may verify it
        }
      }
      const id = header('webhook-id');
      const status = receiver.respond({ id, count: received.filter((r) => r.id === id).length });
      received.push({ id, timestamp: header('webhook-timestamp'), signature: header('webhook-signature'), body, verified, status, at: Date.now() });
      res.writeHead(status).end('ok');
      for (const waiter of waiters.filter((w) => received.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hooks`;
  return receiver;
}
