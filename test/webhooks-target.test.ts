/**
 * The webhook transport and schedule on their own: SSRF refusals at connect time (an injected
 * resolver maps a test host name to each private address; the injected connect fails the test
 * if it is ever called), the retry schedule on a fake clock, and receivers that hang, answer
 * with a huge body or redirect. Every request here goes to loopback or nowhere.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAttempt, DISABLE_AFTER_MS, retryDelayMs, RETRY_WINDOW_MS } from '../src/services/webhook-schedule';
import { isPrivateAddress, postWebhook, type Connect } from '../src/services/webhook-target';

const neverConnect: Connect = (options) => {
  throw new Error(`connect must not be called for a refused target, was called for ${options.host}`);
};

describe('SSRF', () => {
  test.each(['127.0.0.1', '10.0.0.1', '10.255.255.254', '169.254.169.254', '::1', '172.16.0.1', '192.168.1.1', '100.64.0.1', '0.0.0.0', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:a00:1', '224.0.0.1'])(
    'a name resolving to %s is refused at connect time without the allow flag',
    async (address) => {
      const resolve = jest.fn(async () => [{ address, family: address.includes(':') ? 6 : 4 }]);
      const result = await postWebhook('https://hooks.example.test/in', {}, '{}', { allowPrivateTargets: false, resolve, connect: neverConnect });
      expect(result).toEqual({ status: null, error: expect.stringContaining('refused') });
      expect(resolve).toHaveBeenCalledWith('hooks.example.test');
    },
  );

  test('one private address among public ones refuses the name (the connection could land on it)', async () => {
    const resolve = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    const result = await postWebhook('https://hooks.example.test/in', {}, '{}', { allowPrivateTargets: false, resolve, connect: neverConnect });
    expect(result.error).toContain('10.0.0.7');
  });

  test('private literals and plain http are refused before any lookup', async () => {
    const resolve = jest.fn(async () => [{ address: '93.184.216.34', family: 4 }]);
    for (const url of ['https://127.0.0.1/x', 'https://[::1]/x', 'https://169.254.169.254/x', 'http://hooks.example.test/x']) {
      expect((await postWebhook(url, {}, '{}', { allowPrivateTargets: false, resolve, connect: neverConnect })).error).toContain('refused');
    }
    expect(resolve).not.toHaveBeenCalled();
  });

  test('public addresses are public', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(address)).toBe(false);
  });

  test('with the allow flag, the checked address is the one connected to', async () => {
    const server = http.createServer((_, res) => res.writeHead(204).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const connected: string[] = [];
    const result = await postWebhook(`http://localhost:${port}/in`, {}, '{}', {
      allowPrivateTargets: true,
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
      connect: (options) => {
        connected.push(options.host);
        return net.connect({ host: options.host, port: options.port });
      },
    });
    server.close();
    expect(result).toEqual({ status: 204, error: null });
    expect(connected).toEqual(['127.0.0.1']);
  });
});

describe('hostile receivers', () => {
  let server: http.Server;
  let base: string;
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;

  beforeAll(async () => {
    server = http.createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const allow = { allowPrivateTargets: true };

  test('a receiver that never answers is a failed attempt at the total timeout', async () => {
    handler = () => undefined;
    const result = await postWebhook(`${base}/hang`, {}, '{}', { ...allow, totalTimeoutMs: 300 });
    expect(result).toEqual({ status: null, error: expect.stringContaining('no complete response') });
  });

  test('a huge body is read only up to the cap, then dropped', async () => {
    let written = 0;
    handler = (_, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (written < 512 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
        if (written < 512 * 1024 * 1024) res.once('drain', pump);
      };
      res.on('close', () => undefined);
      pump();
    };
    const result = await postWebhook(`${base}/huge`, {}, '{}', { ...allow, maxResponseBytes: 64 * 1024 });
    expect(result).toEqual({ status: 200, error: null });
    expect(written).toBeLessThan(512 * 1024 * 1024);
  });

  test('a redirect is not followed: it is a failed attempt with its status', async () => {
    let hits = 0;
    handler = (_, res) => {
      hits += 1;
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
    };
    expect(await postWebhook(`${base}/moved`, {}, '{}', allow)).toEqual({ status: 302, error: null });
    expect(hits).toBe(1);
  });

  test('a refused connection is a failed attempt, not a throw', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    expect(await postWebhook(`http://127.0.0.1:${port}/x`, {}, '{}', allow)).toEqual({ status: null, error: expect.stringContaining('ECONNREFUSED') });
  });
});

describe('retry schedule (fake clock)', () => {
  const start = Date.UTC(2026, 0, 1);

  test('backoff doubles from 5 s up to an hour, jittered within the upper half', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, () => 1))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, () => 0))).toEqual([2_500, 5_000, 10_000, 20_000]);
    expect(retryDelayMs(40, () => 1)).toBe(3600_000);
  });

  test('a failing delivery is retried until three days after its first attempt, then given up', () => {
    let now = start;
    let attempts = 0;
    let firstAttemptAt: number | null = null;
    let failingSince: number | null = null;
    const times: number[] = [];
    for (;;) {
      const verdict = afterAttempt({ responseCode: 500, previousAttempts: attempts, firstAttemptAt, failingSince, now, random: () => 0.5 });
      times.push(now);
      attempts += 1;
      firstAttemptAt ??= now;
      failingSince = verdict.failingSince;
      expect(verdict.disableReason).toBeNull();
      if (verdict.state === 'FAILED') break;
      expect(verdict.state).toBe('PENDING');
      expect(verdict.nextAttemptAt).toBeGreaterThan(now);
      now = verdict.nextAttemptAt as number;
    }
    expect(now - start).toBeLessThanOrEqual(RETRY_WINDOW_MS);
    expect(now - start).toBeGreaterThan(RETRY_WINDOW_MS - 3600_000);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps.slice(0, 3)).toEqual([3_750, 7_500, 15_000]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(3600_000);
    expect(attempts).toBeGreaterThan(60);
  });

  test('a 2xx delivers and clears the failure window; a 410 gives up and disables at once', () => {
    expect(afterAttempt({ responseCode: 204, previousAttempts: 3, firstAttemptAt: start, failingSince: start, now: start + 60_000, random: Math.random })).toEqual({ state: 'DELIVERED', nextAttemptAt: null, failingSince: null, disableReason: null });
    expect(afterAttempt({ responseCode: 410, previousAttempts: 0, firstAttemptAt: null, failingSince: null, now: start, random: Math.random })).toEqual({ state: 'FAILED', nextAttemptAt: null, failingSince: start, disableReason: expect.stringContaining('410') });
  });

  test('an endpoint failing without a success for days is disabled, saying why', () => {
    const stillOk = afterAttempt({ responseCode: null, previousAttempts: 0, firstAttemptAt: null, failingSince: start, now: start + DISABLE_AFTER_MS - 1, random: () => 0.5 });
    expect(stillOk.disableReason).toBeNull();
    const disabled = afterAttempt({ responseCode: 503, previousAttempts: 0, firstAttemptAt: null, failingSince: start, now: start + DISABLE_AFTER_MS, random: () => 0.5 });
    expect(disabled.disableReason).toMatch(/failed for 5 days \(last: status 503\)/);
  });
});
