/**
 * Hostile input over real HTTP, in the manner of graphql-cop: every attack is refused with a
 * clear error, its HTTP status and code, nothing is written, and no response leaks a stack
 * trace or a schema suggestion.
 */
import { getIntrospectionQuery } from 'graphql';
import { codes, expectNoDisclosure, startGateway, type Gateway, type Sent } from './gateway-harness';

let gw: Gateway;
let before: Record<string, unknown[]>;

beforeAll(async () => {
  gw = await startGateway();
});

afterAll(async () => {
  await gw.close();
});

beforeEach(async () => {
  before = await gw.rows();
});

/** The refusal every test checks: status, code, no data, no disclosure, nothing written. */
async function expectRefused(sent: Sent, status: number, code: string): Promise<void> {
  expect({ status: sent.status, codes: codes(sent) }).toEqual({ status, codes: expect.arrayContaining([code]) });
  expect(sent.json.data ?? null).toBeNull();
  expectNoDisclosure(sent);
  expect(await gw.rows()).toEqual(before);
}

const create = (alias: string, n: number) => `${alias}: createCustomer(input: { email: "h${n}@hostile.example" }) { customer { id } }`;

describe('alias overloading', () => {
  it('refuses 16 aliased createCustomer mutations with QUERY_TOO_COMPLEX (aliases) and writes nothing', async () => {
    const sent = await gw.post(`mutation { ${Array.from({ length: 16 }, (_, i) => `c${i}: createCustomer(input: { email: "a${i}@x.io" }) { userErrors { code } }`).join(' ')} }`);
    await expectRefused(sent, 400, 'QUERY_TOO_COMPLEX');
    expect(sent.json.errors?.[0]?.extensions).toMatchObject({ limit: 'aliases', max: 15, found: 16 });
  });

  it('refuses 1,000 aliases (the graphql-cop probe) before they are even parsed', async () => {
    const sent = await gw.post(`mutation { ${Array.from({ length: 1000 }, (_, i) => create(`c${i}`, i)).join(' ')} }`);
    await expectRefused(sent, 400, 'QUERY_TOO_COMPLEX');
    expect(sent.json.errors?.[0]?.extensions?.limit).toBe('tokens');
  });
});

describe('array batching', () => {
  it('refuses a JSON array of operations with 400 and runs none of them', async () => {
    const body = JSON.stringify([{ query: `mutation { ${create('a', 1)} }` }, { query: `mutation { ${create('b', 2)} }` }]);
    const sent = await gw.send({ method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.key.key}` }, body });
    await expectRefused(sent, 400, 'BAD_REQUEST');
  });
});

describe('deep nesting', () => {
  const deep = (levels: number) => {
    // customer -> actions -> nodes -> customer -> ... : a cycle in the schema, nested at will.
    const chain = ['customer(id: "00000000-0000-7000-8000-000000000000")'];
    while (chain.length < levels - 1) chain.push(['actions', 'nodes', 'customer'][(chain.length - 1) % 3]);
    return `{ ${chain.join(' { ')} { id ${' }'.repeat(chain.length - 1)} } }`;
  };

  it('refuses 50 levels of nesting with QUERY_TOO_COMPLEX (depth)', async () => {
    const sent = await gw.post(deep(50));
    await expectRefused(sent, 400, 'QUERY_TOO_COMPLEX');
    expect(sent.json.errors?.[0]?.extensions).toMatchObject({ limit: 'depth', max: 10 });
  });

  it('follows fragments: nesting hidden in fragments counts the same', async () => {
    const sent = await gw.post(`
      { customer(id: "00000000-0000-7000-8000-000000000000") { ...A } }
      fragment A on Customer { actions { nodes { customer { ...B } } } }
      fragment B on Customer { actions { nodes { customer { ...C } } } }
      fragment C on Customer { actions { nodes { customer { id } } } }`);
    await expectRefused(sent, 400, 'QUERY_TOO_COMPLEX');
    expect(sent.json.errors?.[0]?.extensions).toMatchObject({ limit: 'depth', found: 11 });
  });
});

describe('duplicated directives', () => {
  it('refuses 11 directives in one operation with QUERY_TOO_COMPLEX (directives)', async () => {
    const fields = Array.from({ length: 11 }, (_, i) => `f${i}: __typename @include(if: true)`).join(' ');
    const sent = await gw.post(`{ ${fields} }`);
    await expectRefused(sent, 400, 'QUERY_TOO_COMPLEX');
    expect(sent.json.errors?.[0]?.extensions).toMatchObject({ limit: 'directives', max: 10, found: 11 });
  });

  it('refuses directive overloading (one field, 100 unknown directives) with 400, never 500', async () => {
    const sent = await gw.post(`{ __typename ${'@aa'.repeat(100)} }`);
    await expectRefused(sent, 400, 'QUERY_TOO_COMPLEX');
  });

  it('refuses the same directive twice on one field (graphql\'s own rule) with 400', async () => {
    const sent = await gw.post('{ workspace @include(if: true) @include(if: true) { id } }');
    await expectRefused(sent, 400, 'GRAPHQL_VALIDATION_FAILED');
  });
});

describe('duplicated fields', () => {
  // Decision: harmless. graphql merges copies of a field into one response key and resolves
  // it once, so copies cost nothing beyond parsing, and the token limit bounds the parsing.
  it('answers 400 copies of one field once', async () => {
    const sent = await gw.post(`{ workspace { ${'name '.repeat(400)} } }`);
    expect(sent.status).toBe(200);
    expect(sent.json.data).toEqual({ workspace: { name: 'hostile' } });
  });

  it('refuses 1,000 copies by the token limit', async () => {
    const sent = await gw.post(`{ workspace { ${'name '.repeat(1000)} } }`);
    await expectRefused(sent, 400, 'QUERY_TOO_COMPLEX');
    expect(sent.json.errors?.[0]?.extensions?.limit).toBe('tokens');
  });
});

describe('circular fragments', () => {
  it('refuses fragments that spread each other with 400 GRAPHQL_VALIDATION_FAILED', async () => {
    const sent = await gw.post(`
      { workspace { ...A } }
      fragment A on Workspace { id ...B }
      fragment B on Workspace { name ...A }`);
    await expectRefused(sent, 400, 'GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses a fragment that spreads itself', async () => {
    const sent = await gw.post('{ workspace { ...A } } fragment A on Workspace { id ...A }');
    await expectRefused(sent, 400, 'GRAPHQL_VALIDATION_FAILED');
  });
});

describe('field suggestions never leak the schema', () => {
  // Every row has three entries: with fewer, jest would pass its `done` callback as `variables`.
  const probes: [string, string, Record<string, unknown> | undefined][] = [
    ['a misspelt field', '{ workspac { id } }', undefined],
    ['a misspelt nested field', '{ workspace { nam } }', undefined],
    ['a misspelt argument', '{ customers(firs: 10) { totalCount } }', undefined],
    ['a misspelt enum value', '{ customers(sort: { field: CREATED }) { totalCount } }', undefined],
    ['a misspelt input field', '{ customers(filter: { statu: [ACTIVE] }) { totalCount } }', undefined],
    ['a misspelt type in a variable', 'query($f: CustomerFilte) { customers(filter: $f) { totalCount } }', undefined],
    ['a misspelt input field in variables', 'query($f: CustomerFilter) { customers(filter: $f) { totalCount } }', { f: { statu: ['ACTIVE'] } }],
    ['a misspelt enum value in variables', 'query($s: CustomerSort) { customers(sort: $s) { totalCount } }', { s: { field: 'CREATED' } }],
    ['a misspelt mutation', 'mutation { createCustome(input: { email: "x@y.io" }) { customer { id } } }', undefined],
  ];

  it.each(probes)('%s gets a 400 without "Did you mean"', async (_, query, variables) => {
    const sent = await gw.post(query, variables);
    expect(sent.status).toBe(400);
    expect(codes(sent).length).toBeGreaterThan(0);
    expectNoDisclosure(sent);
    expect(await gw.rows()).toEqual(before);
  });
});

describe('introspection, _service and _entities need a key', () => {
  const entities = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id email } } }';
  const representations = { r: [{ __typename: 'Customer', id: '00000000-0000-7000-8000-000000000000' }] };

  it.each([
    ['introspection', getIntrospectionQuery(), undefined],
    ['_service', '{ _service { sdl } }', undefined],
    ['_entities', entities, representations],
  ] as const)('%s without a key is 401 UNAUTHENTICATED', async (_, query, variables) => {
    const sent = await gw.post(query, variables, {});
    await expectRefused(sent, 401, 'UNAUTHENTICATED');
    expect(sent.text).not.toMatch(/CustomerFilter|createCustomer|@key/);
  });

  it.each([
    ['introspection', getIntrospectionQuery(), undefined],
    ['_service', '{ _service { sdl } }', undefined],
    ['_entities', entities, representations],
  ] as const)('%s with a wrong key is 401 UNAUTHENTICATED', async (_, query, variables) => {
    const sent = await gw.post(query, variables, { authorization: 'Bearer cgk_0000000000_not-a-key' });
    await expectRefused(sent, 401, 'UNAUTHENTICATED');
  });

  it('with a key, GraphiQL\'s introspection query (every option on) answers in full', async () => {
    const query = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true });
    const sent = await gw.post(query);
    expect(sent.status).toBe(200);
    expect(sent.json.errors).toBeUndefined();
    expect(sent.json.data?.__schema.types.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['Customer', 'CustomerFilter']));
  });

  it('with a key, the introspection rover and Apollo tooling send answers: `graph introspect` and `subgraph introspect`', async () => {
    const full = await gw.post(getIntrospectionQuery());
    expect({ status: full.status, errors: full.json.errors }).toEqual({ status: 200, errors: undefined });
    const sub = await gw.post('query SubgraphIntrospectQuery { _service { sdl } }');
    expect({ status: sub.status, errors: sub.json.errors }).toEqual({ status: 200, errors: undefined });
    expect(sub.json.data?._service.sdl).toContain('@key(fields: "id")');
  });
});

describe('the explorer page', () => {
  it('serves HTML that holds no data, no schema and no key', async () => {
    await gw.post(`mutation { ${create('c', 9001)} }`);
    const page = await gw.send({ method: 'GET', path: '/' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    for (const secret of ['h9001@hostile.example', 'hostile', gw.key.key, gw.key.key.slice(0, 14), 'CustomerFilter', 'createCustomer']) {
      expect(page.text).not.toContain(secret);
    }
  });
});

describe('CSRF and mutations over GET', () => {
  const mutation = `mutation { ${create('c', 7)} }`;
  const auth = () => ({ authorization: `Bearer ${gw.key.key}` });

  it('refuses a GET mutation without a preflight header as CSRF (400)', async () => {
    const sent = await gw.send({ method: 'GET', path: `/graphql?query=${encodeURIComponent(mutation)}`, headers: auth() });
    await expectRefused(sent, 400, 'BAD_REQUEST');
    expect(sent.text).toMatch(/CSRF/);
  });

  it('refuses a GET mutation even with a preflight header: 405, mutations only over POST', async () => {
    const sent = await gw.send({ method: 'GET', path: `/graphql?query=${encodeURIComponent(mutation)}`, headers: { ...auth(), 'apollo-require-preflight': 'true' } });
    await expectRefused(sent, 405, 'BAD_REQUEST');
    expect(sent.headers.get('allow')).toBe('POST');
  });

  it.each([
    ['application/x-www-form-urlencoded', `query=${encodeURIComponent(mutation)}`],
    ['multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n${mutation}\r\n--x--\r\n`],
    ['text/plain', JSON.stringify({ query: mutation })],
  ])('refuses a form-style POST (%s) as CSRF with 400', async (contentType, body) => {
    const sent = await gw.send({ method: 'POST', headers: { ...auth(), 'content-type': contentType }, body });
    await expectRefused(sent, 400, 'BAD_REQUEST');
  });
});

describe('huge strings', () => {
  it('refuses a 10 MB string with 413 and a JSON error, writing nothing', async () => {
    const sent = await gw.post('mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { customer { id } } }', {
      in: { email: 'big@hostile.example', internalNote: 'x'.repeat(10 * 1024 * 1024) },
    });
    await expectRefused(sent, 413, 'BAD_REQUEST');
  });

  it('answers a 900 KB note (under the body limit) with a TOO_LONG userError, writing nothing', async () => {
    const sent = await gw.post('mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { customer { id } userErrors { field code } } }', {
      in: { email: 'big@hostile.example', internalNote: 'x'.repeat(900 * 1024) },
    });
    expect(sent.status).toBe(200);
    expect(sent.json.data?.createCustomer).toEqual({ customer: null, userErrors: [{ field: ['internalNote'], code: 'TOO_LONG' }] });
    expect(await gw.rows()).toEqual(before);
  });

  it('refuses a 900 KB id argument with BAD_USER_INPUT', async () => {
    const sent = await gw.post('query($id: ID!) { customer(id: $id) { id } }', { id: 'x'.repeat(900 * 1024) });
    expect({ status: sent.status, codes: codes(sent) }).toEqual({ status: 200, codes: ['BAD_USER_INPUT'] });
    expectNoDisclosure(sent);
  });
});

describe('deeply nested JSON', () => {
  it('answers metadata nested 100,000 levels deep with an INVALID userError, writing nothing', async () => {
    const depth = 100_000;
    const metadata = '{"a":'.repeat(depth) + '"x"' + '}'.repeat(depth);
    const query = 'mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { customer { id } userErrors { field code } } }';
    const sent = await gw.send({
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.key.key}` },
      // Written by hand: JSON.stringify itself overflows the stack at this depth.
      body: `{"query":${JSON.stringify(query)},"variables":{"in":{"email":"deep@hostile.example","metadata":${metadata}}}}`,
    });
    expect(sent.status).toBe(200);
    expect(sent.json.data?.createCustomer).toEqual({ customer: null, userErrors: [{ field: ['metadata', 'a'], code: 'INVALID' }] });
    expect(await gw.rows()).toEqual(before);
  });
});

describe('oversized lists', () => {
  it('answers 251 custom fields in createCustomer with LIMIT_EXCEEDED, writing nothing', async () => {
    const customFields = Array.from({ length: 251 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    const sent = await gw.post('mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { customer { id } userErrors { field code } } }', {
      in: { email: 'list@hostile.example', customFields },
    });
    expect(sent.json.data?.createCustomer).toEqual({ customer: null, userErrors: [{ field: ['customFields'], code: 'LIMIT_EXCEEDED' }] });
    expect(await gw.rows()).toEqual(before);
  });

  it.each([
    ['nodes(ids) with 101 ids', 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: Array.from({ length: 101 }, (_, i) => `id${i}`) }],
    ['filter.status with 251 items', 'query($s: [CustomerStatus!]) { customers(filter: { status: $s }) { totalCount } }', { s: Array(251).fill('ACTIVE') }],
    ['filter.customFields with 11 items', 'query($c: [CustomFieldFilter!]) { customers(filter: { customFields: $c }) { totalCount } }', { c: Array.from({ length: 11 }, (_, i) => ({ key: `k${i}`, value: 'v' })) }],
  ])('refuses %s with BAD_USER_INPUT', async (_, query, variables) => {
    const sent = await gw.post(query, variables);
    expect({ status: sent.status, codes: codes(sent) }).toEqual({ status: 200, codes: ['BAD_USER_INPUT'] });
    expect(sent.json.data ?? null).toBeNull();
    expectNoDisclosure(sent);
  });

  it('refuses nodes(ids) with 100,000 ids before execution: the query cost (a point per id) is over the limit', async () => {
    const sent = await gw.post('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: Array.from({ length: 100_000 }, (_, i) => String(i)) });
    expect({ status: sent.status, codes: codes(sent) }).toEqual({ status: 400, codes: ['QUERY_TOO_COMPLEX'] });
    expect(sent.json.data ?? null).toBeNull();
    expectNoDisclosure(sent);
  });
});
