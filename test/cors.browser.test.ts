/**
 * CORS as a real browser enforces it: Debian's Chromium (playwright-core) loads a page from one
 * loopback origin and calls the gateway, on another loopback origin, with fetch. The API key
 * header makes every call need a preflight. A page from a listed origin reads the answer and the
 * exposed x-request-id; a page from an unlisted origin has its fetch rejected by the browser, and
 * its mutation never runs. Every request the browser makes stays on loopback.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { startTestApp, type RunningApp } from './app-harness';
import { describeInChromium, launchChromium } from './chromium';

/** A stand-in frontend: one empty page on its own loopback origin. */
async function startFrontend(): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html><head><title>frontend</title></head><body>frontend</body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface FetchOutcome {
  status?: number;
  requestId?: string | null;
  body?: unknown;
  error?: string;
}

/** Runs fetch inside the page, so the browser applies its CORS rules for the page's origin. */
function fetchFromPage(page: Page, url: string, key: string, query: string): Promise<FetchOutcome> {
  return page.evaluate(
    async ({ url, key, query }) => {
      try {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ query }) });
        return { status: response.status, requestId: response.headers.get('x-request-id'), body: await response.json() };
      } catch (error) {
        return { error: String(error) };
      }
    },
    { url, key, query },
  );
}

describeInChromium('CORS in Chromium', 'CORS browser test', () => {
  let dir: string;
  let listed: Awaited<ReturnType<typeof startFrontend>>;
  let unlisted: Awaited<ReturnType<typeof startFrontend>>;
  let running: RunningApp;
  let endpoint: string;
  let context: BrowserContext;
  let page: Page;
  const requested: string[] = [];
  const gatewayMethods: string[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-cors-browser-'));
    listed = await startFrontend();
    unlisted = await startFrontend();
    running = await startTestApp({ CORS_ORIGINS: listed.origin });
    endpoint = `${running.url}/graphql`;
    running.app.http.on('request', (req: http.IncomingMessage) => gatewayMethods.push(`${req.method} ${req.headers.origin ?? '-'}`));
    context = await launchChromium(path.join(dir, 'profile'));
    context.on('request', (request) => requested.push(request.url()));
    page = context.pages()[0] ?? (await context.newPage());
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await running?.close();
    for (const frontend of [listed, unlisted]) if (frontend) await new Promise((resolve) => frontend.server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lets a page from a listed origin query the gateway and read the answer and x-request-id', async () => {
    expect(new URL(listed.origin).port).not.toBe(new URL(running.url).port);
    gatewayMethods.length = 0;
    await page.goto(`${listed.origin}/`);
    const outcome = await fetchFromPage(page, endpoint, running.a.key, '{ workspace { name } }');
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe(200);
    expect(outcome.body).toMatchObject({ data: { workspace: { name: 'alpha' } } });
    expect(outcome.requestId).toMatch(/^[\w.-]{8,64}$/);
    // The x-api-key header made the browser ask first.
    expect(gatewayMethods).toEqual([`OPTIONS ${listed.origin}`, `POST ${listed.origin}`]);
  });

  it('blocks a page from an unlisted origin: fetch rejects and the mutation never reaches Apollo', async () => {
    gatewayMethods.length = 0;
    await page.goto(`${unlisted.origin}/`);
    const outcome = await fetchFromPage(page, endpoint, running.a.key, 'mutation { createCustomer(input: { email: "cross@example.com" }) { customer { id } } }');
    expect(outcome.status).toBeUndefined();
    expect(outcome.error).toMatch(/TypeError: Failed to fetch/);
    expect(gatewayMethods).toEqual([`OPTIONS ${unlisted.origin}`]);

    const check = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': running.a.key },
      body: JSON.stringify({ query: '{ customers(first: 10) { edges { node { email } } } }' }),
    });
    expect(((await check.json()) as { data: { customers: { edges: unknown[] } } }).data.customers.edges).toEqual([]);
  });

  it('made no request that left loopback', () => {
    expect(requested.length).toBeGreaterThan(2);
    expect(requested.filter((url) => new URL(url).hostname !== '127.0.0.1')).toEqual([]);
  });
});
