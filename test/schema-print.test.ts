/**
 * `npm run schema:print`: the file it writes is exactly the `_service { sdl }` answer, and it
 * composes into a supergraph, so rover/router pipelines can use the file instead of a live server.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { DEFAULT_SDL_FILE, printSchemaTo } from '../src/cli/schema-print';
import { createTestEnv, type TestEnv } from './helpers';
import { ordersTypeDefs } from './fixtures/orders/subgraph';

let env: TestEnv;
let dir: string;

beforeAll(async () => {
  env = await createTestEnv();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-sdl-'));
});

afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await env.close();
});

describe('schema:print', () => {
  it('writes the SDL that _service { sdl } answers', async () => {
    const file = printSchemaTo(path.join(dir, 'nested', 'customers.graphql'));
    const served = await env.data<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(fs.readFileSync(file, 'utf8').trimEnd()).toBe(served._service.sdl.trimEnd());
  });

  it('writes a file that composes with another subgraph', () => {
    const file = printSchemaTo(path.join(dir, 'composable.graphql'));
    const composed = composeServices([
      { name: 'customers', url: 'http://customers.invalid/graphql', typeDefs: parse(fs.readFileSync(file, 'utf8')) },
      { name: 'orders', url: 'http://orders.invalid/graphql', typeDefs: ordersTypeDefs() },
    ]);
    expect(composed.errors).toBeUndefined();
    expect(composed.hints).toEqual([]);
  });

  it('defaults to dist/schema.subgraph.graphql, a build output that is not committed', () => {
    expect(DEFAULT_SDL_FILE).toBe(path.join('dist', 'schema.subgraph.graphql'));
    expect(fs.readFileSync(path.join(__dirname, '..', '.gitignore'), 'utf8')).toMatch(/^dist\/$/m);
  });
});
