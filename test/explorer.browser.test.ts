/**
 * The explorer in a real browser: Debian's Chromium driven by playwright-core against the gateway
 * on an ephemeral loopback port. A first visit without a key shows how to add one (and no schema
 * data); with the key typed into GraphiQL's Headers editor the docs load and a `customers` query
 * shows the seeded customer; a JWT from the identity provider works there as well as a key, and a
 * refused one shows the server's reason. Every request the browser makes is recorded: none may leave loopback.
 * Screenshots go to test-artifacts/ (gitignored; CI keeps them).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/shared/logger';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { makeSigningKey, signToken, startJwksServer, type JwksServer, type TestSigningKey } from './jwks-server';
import { AUDIENCE, ISSUER, standardClaims } from './jwt-app';
import { describeInChromium, launchChromium } from './chromium';

const ARTIFACTS = path.resolve(__dirname, '..', 'test-artifacts');
const WAIT = { timeout: 60_000 };

describeInChromium('explorer in Chromium', 'explorer browser test', () => {
  let dir: string;
  let app: App;
  let base: string;
  let key: IssuedKey;
  let jwks: JwksServer;
  let signer: TestSigningKey;
  let context: BrowserContext;
  let page: Page;
  const requested: string[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-browser-'));
    signer = await makeSigningKey('ES256', 'explorer-1');
    jwks = await startJwksServer([signer.jwk]);
    const config = loadConfig({
      DATA_DIR: path.join(dir, 'data'),
      PORT: '0',
      LOG_LEVEL: 'silent',
      JWT_JWKS_URL: jwks.url.href,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    });
    app = await createApp({ config, logger: createLogger('silent') });
    base = await app.listen(0, '127.0.0.1');
    key = await issueKey(app.store.db, { workspace: 'acme', name: 'explorer' });
    await seedCustomer(base, key);
    context = await launchChromium(path.join(dir, 'profile'), { viewport: { width: 1280, height: 800 } });
    // Context-wide, so worker scripts and any popup are seen too.
    context.on('request', (request) => requested.push(request.url()));
    page = context.pages()[0] ?? (await context.newPage());
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await app?.stop();
    await jwks?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without a key shows how to add one and no schema', async () => {
    const introspection = page.waitForResponse((response) => response.url() === `${base}/graphql` && response.request().method() === 'POST', WAIT);
    await page.goto(`${base}/`, WAIT);
    const refused = await introspection;
    expect(refused.status()).toBe(401);
    expect(((await refused.json()) as { data?: unknown }).data ?? null).toBeNull();
    const hint = page.locator('#explorer-key-hint');
    await hint.waitFor({ state: 'visible', ...WAIT });
    expect(await hint.innerText()).toMatch(/needs an API key[\s\S]*Headers[\s\S]*Authorization": "Bearer cgk_/);
    await page.locator('#explorer-key-hint-detail', { hasText: 'An API key or token is required' }).waitFor(WAIT);
    // The Headers editor is open and starts with the header the key goes in.
    await page.locator('.graphiql-editor-tool').getByText('"Authorization"').waitFor(WAIT);
    await page.screenshot({ path: path.join(ARTIFACTS, 'explorer-no-key.png') });
    // The docs have no schema to show.
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.waitFor(WAIT);
    await docs.getByText('Error fetching schema').waitFor(WAIT);
    expect(await docs.innerText()).not.toContain('customerByExternalId');
    await page.getByRole('button', { name: 'Hide Documentation Explorer' }).click();
  });

  it('loads the schema docs once the key is entered in the Headers editor', async () => {
    await setHeaders(page, JSON.stringify({ Authorization: `Bearer ${key.key}` }), key.key);
    const refetched = page.waitForResponse((response) => response.url() === `${base}/graphql` && response.request().method() === 'POST', WAIT);
    await page.getByRole('button', { name: 'Re-fetch GraphQL schema' }).click();
    expect((await refetched).status()).toBe(200);
    await page.locator('#explorer-key-hint').waitFor({ state: 'hidden', ...WAIT });
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByText('Query', { exact: true }).first().click(WAIT);
    await docs.getByText('customerByExternalId').first().waitFor(WAIT);
  });

  it('runs a customers query and shows the result', async () => {
    const executed = page.waitForResponse((response) => response.url() === `${base}/graphql` && response.request().postData()?.includes('customers') === true, WAIT);
    await page.locator('.graphiql-execute-button').click();
    const response = await executed;
    expect(response.status()).toBe(200);
    expect(response.request().headers().authorization).toBe(`Bearer ${key.key}`);
    await page.locator('.graphiql-response').getByText('ada@example.com').waitFor(WAIT);
    // Monaco renders spaces as no-break spaces.
    expect((await page.locator('.graphiql-response').innerText()).replace(/\u00a0/g, ' ')).toContain('"name": "Ada Lovelace"');
    await page.screenshot({ path: path.join(ARTIFACTS, 'explorer.png') });
  });

  it('shows why a JWT is refused, and runs the query with a valid one in place of the key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await signToken(signer, standardClaims({ workspace: 'acme', sub: 'explorer-user', iat: now - 3600, exp: now - 600 }));
    const token = await signToken(signer, standardClaims({ workspace: 'acme', sub: 'explorer-user' }));
    const execute = async (credential: string) => {
      await setHeaders(page, JSON.stringify({ Authorization: `Bearer ${credential}` }), credential.slice(-24));
      const executed = page.waitForResponse((response) => response.url() === `${base}/graphql` && response.request().postData()?.includes('customers') === true, WAIT);
      await page.locator('.graphiql-execute-button').click();
      const response = await executed;
      expect(response.request().headers().authorization).toBe(`Bearer ${credential}`);
      return response;
    };

    expect((await execute(expired)).status()).toBe(401);
    await page.locator('#explorer-key-hint').waitFor({ state: 'visible', ...WAIT });
    await page.locator('#explorer-key-hint-detail', { hasText: 'Bearer token rejected: it has expired' }).waitFor(WAIT);
    expect(await page.locator('#explorer-key-hint').innerText()).toMatch(/token/);
    // The hint sits over the run button; a user dismisses it to try again.
    await page.locator('#explorer-key-hint-close').click();

    expect((await execute(token)).status()).toBe(200);
    await page.locator('#explorer-key-hint').waitFor({ state: 'hidden', ...WAIT });
    await page.locator('.graphiql-response').getByText('ada@example.com').waitFor(WAIT);
    await page.screenshot({ path: path.join(ARTIFACTS, 'explorer-jwt.png') });
  });

  it('offers Apollo Sandbox as a plain link to this endpoint', async () => {
    const link = page.locator('#explorer-sandbox-link');
    expect(await link.getAttribute('href')).toBe(`https://studio.apollographql.com/sandbox/explorer?endpoint=${encodeURIComponent(`${base}/graphql`)}`);
    expect(await link.getAttribute('target')).toBe('_blank');
  });

  it('made no request that left loopback', () => {
    expect(requested.length).toBeGreaterThan(5);
    const outside = requested.filter((url) => {
      const parsed = new URL(url);
      if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return false;
      return !['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
    });
    expect(outside).toEqual([]);
  });
});

/** Replaces the Headers editor's text (a Monaco editor) with `text`, as a user pasting it would. */
async function setHeaders(page: Page, text: string, marker: string): Promise<void> {
  await page.getByRole('tab', { name: 'Headers' }).or(page.getByRole('button', { name: 'Headers' })).first().click();
  const editor = page.locator('.graphiql-editor-tool .monaco-editor').last();
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // insertText types it as one input: no per-character bracket auto-closing (on one line; a
  // newline after `{` would still get Monaco's closing brace).
  await page.keyboard.insertText(text);
  // Monaco renders spaces as no-break spaces: wait for a piece without any.
  await editor.getByText(marker).waitFor({ timeout: 60_000 });
}

/** Creates the customer the query should show, through the public API. */
async function seedCustomer(base: string, key: IssuedKey): Promise<void> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
    body: JSON.stringify({
      query: 'mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { userErrors { message } } }',
      variables: { input: { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' } },
    }),
  });
  const body = (await response.json()) as { data?: { createCustomer: { userErrors: unknown[] } } };
  if (body.data?.createCustomer.userErrors.length !== 0) throw new Error(`seeding failed: ${JSON.stringify(body)}`);
}
