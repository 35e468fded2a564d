/**
 * `customers` paging, sorting, pageInfo, argument errors and filters, through the public API.
 */
import { createCustomer, createTestEnv, type TestEnv } from './helpers';

interface Node {
  id: string;
  email: string;
  name: string | null;
  createdAt: string;
  updatedAt: string;
}

interface Page {
  edges: { cursor: string; node: { id: string } }[];
  nodes: Node[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

const PAGE_QUERY = `
  query($first: Int, $after: String, $last: Int, $before: String, $filter: CustomerFilter, $sort: CustomerSort) {
    customers(first: $first, after: $after, last: $last, before: $before, filter: $filter, sort: $sort) {
      edges { cursor node { id } }
      nodes { id email name createdAt updatedAt }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      totalCount
    }
  }
`;

async function page(env: TestEnv, args: Record<string, unknown>): Promise<Page> {
  const data = await env.data<{ customers: Page }>(PAGE_QUERY, args);
  // as an HTTP client sees it (JSON): DateTime values are ISO strings
  return JSON.parse(JSON.stringify(data.customers)) as Page;
}

/** Pages forward with `first`/`after` until hasNextPage is false; returns every node in order. */
async function pageForward(env: TestEnv, args: Record<string, unknown>, size = 100, between?: (i: number) => Promise<void>) {
  const all: Node[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const p: Page = await page(env, { ...args, first: size, after });
    all.push(...p.nodes);
    if (!p.pageInfo.hasNextPage) return all;
    after = p.pageInfo.endCursor;
    if (between) await between(i);
  }
  throw new Error('paging did not terminate');
}

/** Pages backward with `last`/`before` from the end; returns every node in list order. */
async function pageBackward(env: TestEnv, args: Record<string, unknown>, size = 100) {
  const pages: Node[][] = [];
  let before: string | null = null;
  for (let i = 0; i < 100; i++) {
    const p: Page = await page(env, { ...args, last: size, before });
    pages.unshift(p.nodes);
    if (!p.pageInfo.hasPreviousPage) return pages.flat();
    before = p.pageInfo.startCursor;
  }
  throw new Error('paging did not terminate');
}

const ids = (nodes: { id: string }[]) => nodes.map((n) => n.id);

function compareBy(key: (n: Node) => string) {
  return (a: Node, b: Node) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return ka < kb ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}

const SORT_KEYS: Record<string, (n: Node) => string> = {
  CREATED_AT: (n) => n.createdAt,
  UPDATED_AT: (n) => n.updatedAt,
  EMAIL: (n) => n.email,
  NAME: (n) => (n.name ?? n.email).toLowerCase(),
};

function expectBadUserInput(result: { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] }) {
  expect(result.errors).toBeDefined();
  expect(result.errors).toHaveLength(1);
  expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  expect(result.data ?? null).toBeNull();
}

const FIRST_NAMES = ['alice', 'Bob', 'carol', 'Dave', 'eve', 'Frank', 'grace', 'Heidi', 'ivan', 'Judy'];
const LAST_NAMES = ['Smith', 'jones', 'Brown', 'taylor', 'Wilson'];

/** 250 customers whose email, name, created and updated orders all differ. */
async function seed250(env: TestEnv): Promise<string[]> {
  const created: string[] = [];
  for (let i = 0; i < 250; i++) {
    const scrambled = (i * 37) % 250;
    const input: Record<string, unknown> = { email: `c${String(scrambled).padStart(3, '0')}@paging.example` };
    if (i % 7 === 0) input.name = `Team ${String.fromCharCode(97 + (i % 26))}${i}`;
    else if (i % 5 !== 0) {
      input.firstName = FIRST_NAMES[i % FIRST_NAMES.length];
      input.lastName = LAST_NAMES[(i * 3) % LAST_NAMES.length];
    }
    // else: no name at all, sorted by email under NAME
    const customer = await createCustomer(env, input);
    created.push(customer.id);
  }
  // Touch some customers so updatedAt order differs from createdAt order.
  for (let i = 0; i < 250; i += 9) {
    await env.data(`mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { userErrors { code } } }`, {
      input: { id: created[i], internalNote: `touched ${i}` },
    });
  }
  return created;
}

describe('customers paging over 250 customers', () => {
  let env: TestEnv;
  let created: string[];

  beforeAll(async () => {
    env = await createTestEnv();
    created = await seed250(env);
  });
  afterAll(() => env.close());

  it('forward paging with first: 100 visits every customer exactly once in creation order', async () => {
    const pages: number[] = [];
    let after: string | null = null;
    const seen: string[] = [];
    for (;;) {
      const p: Page = await page(env, { first: 100, after });
      pages.push(p.nodes.length);
      seen.push(...ids(p.nodes));
      expect(ids(p.edges.map((e) => e.node))).toEqual(ids(p.nodes));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(pages).toEqual([100, 100, 50]);
    expect(new Set(seen).size).toBe(250);
    expect(seen).toEqual(created);
  });

  it('backward paging with last/before from the end visits every customer exactly once in the same order', async () => {
    const sizes: number[] = [];
    const pages: string[][] = [];
    let before: string | null = null;
    for (;;) {
      const p: Page = await page(env, { last: 100, before });
      sizes.push(p.nodes.length);
      pages.unshift(ids(p.nodes));
      if (!p.pageInfo.hasPreviousPage) break;
      before = p.pageInfo.startCursor;
    }
    expect(sizes).toEqual([100, 100, 50]);
    expect(pages.flat()).toEqual(created);
  });

  for (const field of ['CREATED_AT', 'UPDATED_AT', 'EMAIL', 'NAME']) {
    for (const direction of ['ASC', 'DESC']) {
      it(`sort ${field} ${direction} pages forward and backward in exactly the sort order`, async () => {
        const sort = { field, direction };
        const forward = await pageForward(env, { sort }, 64);
        const expected = [...forward].sort(compareBy(SORT_KEYS[field]));
        if (direction === 'DESC') expected.reverse();
        expect(new Set(ids(forward)).size).toBe(250);
        expect(new Set(ids(forward))).toEqual(new Set(created));
        expect(ids(forward)).toEqual(ids(expected));
        const backward = await pageBackward(env, { sort }, 64);
        expect(ids(backward)).toEqual(ids(expected));
      });
    }
  }

  it('the sort orders really differ from one another (the sort argument is applied)', async () => {
    const byCreated = ids((await page(env, { first: 30, sort: { field: 'CREATED_AT' } })).nodes);
    const byUpdated = ids((await page(env, { first: 30, sort: { field: 'UPDATED_AT' } })).nodes);
    const byEmail = ids((await page(env, { first: 30, sort: { field: 'EMAIL' } })).nodes);
    const byName = ids((await page(env, { first: 30, sort: { field: 'NAME' } })).nodes);
    expect(byCreated).toEqual(created.slice(0, 30));
    expect(byUpdated).not.toEqual(byCreated);
    expect(byEmail).not.toEqual(byCreated);
    expect(byName).not.toEqual(byEmail);
    expect((await page(env, { first: 1, sort: { field: 'EMAIL' } })).nodes[0].email).toBe('c000@paging.example');
    expect((await page(env, { first: 1, sort: { field: 'EMAIL', direction: 'DESC' } })).nodes[0].email).toBe('c249@paging.example');
  });

  it('NAME sorts case-insensitively by display name', async () => {
    const all = await pageForward(env, { sort: { field: 'NAME' } });
    const keys = all.map((n) => (n.name ?? n.email).toLowerCase());
    expect(keys).toEqual([...keys].sort());
    // 'carol …' (given in lower case) sorts before 'Dave …' (given capitalised), as in a phone book
    const firstCarol = all.findIndex((n) => n.name?.startsWith('carol '));
    const firstDave = all.findIndex((n) => n.name?.startsWith('Dave '));
    expect(firstCarol).toBeGreaterThanOrEqual(0);
    expect(firstDave).toBeGreaterThan(firstCarol);
  });

  it('defaults to 20 customers when neither first nor last is given', async () => {
    const p = await page(env, {});
    expect(ids(p.nodes)).toEqual(created.slice(0, 20));
    expect(p.pageInfo.hasNextPage).toBe(true);
    expect(p.totalCount).toBe(250);
  });

  it('`before` alone pages backward with the default size of 20', async () => {
    const anchor = await page(env, { first: 100 });
    const p = await page(env, { before: anchor.pageInfo.endCursor });
    expect(ids(p.nodes)).toEqual(created.slice(79, 99));
    expect(p.pageInfo.hasPreviousPage).toBe(true);
  });

  it('pageInfo of a first page: next page exists, cursors point at the first and last edge', async () => {
    const p = await page(env, { first: 10 });
    expect(p.pageInfo.hasNextPage).toBe(true);
    expect(p.pageInfo.hasPreviousPage).toBe(false);
    expect(p.pageInfo.startCursor).toBe(p.edges[0].cursor);
    expect(p.pageInfo.endCursor).toBe(p.edges[9].cursor);
    expect(typeof p.pageInfo.startCursor).toBe('string');
    expect(p.pageInfo.startCursor).not.toBe(p.pageInfo.endCursor);
    expect(p.totalCount).toBe(250);
  });

  it('an edge cursor resumes right after its edge', async () => {
    const p = await page(env, { first: 10 });
    const next = await page(env, { first: 3, after: p.edges[4].cursor });
    expect(ids(next.nodes)).toEqual(created.slice(5, 8));
  });

  it('pageInfo of the last forward page: no next page', async () => {
    const p = await page(env, { first: 100, after: (await page(env, { first: 100, after: (await page(env, { first: 100 })).pageInfo.endCursor })).pageInfo.endCursor });
    expect(p.nodes).toHaveLength(50);
    expect(p.pageInfo.hasNextPage).toBe(false);
    expect(p.pageInfo.endCursor).toBe(p.edges[49].cursor);
    expect(ids(p.nodes)).toEqual(created.slice(200));
  });

  it('a page that ends exactly at the last customer reports no next page', async () => {
    const before = await page(env, { first: 100, after: (await page(env, { first: 150 - 50 })).pageInfo.endCursor });
    const p = await page(env, { first: 50, after: before.pageInfo.endCursor });
    expect(p.nodes).toHaveLength(50);
    expect(p.pageInfo.hasNextPage).toBe(false);
  });

  it('pageInfo of backward pages: previous page exists until the start is reached', async () => {
    const last = await page(env, { last: 10 });
    expect(ids(last.nodes)).toEqual(created.slice(240));
    expect(last.pageInfo.hasPreviousPage).toBe(true);
    expect(last.pageInfo.startCursor).toBe(last.edges[0].cursor);
    expect(last.pageInfo.endCursor).toBe(last.edges[9].cursor);
    const start = await page(env, { first: 10 });
    const beforeStart = await page(env, { last: 10, before: start.edges[5].cursor });
    expect(ids(beforeStart.nodes)).toEqual(created.slice(0, 5));
    expect(beforeStart.pageInfo.hasPreviousPage).toBe(false);
  });

  it('an empty result has null cursors, no pages either way and a totalCount of 0', async () => {
    const p = await page(env, { first: 10, filter: { search: 'no-such-customer-anywhere' } });
    expect(p).toEqual({
      edges: [],
      nodes: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      totalCount: 0,
    });
  });

  it('paging past the last customer returns an empty page with null cursors', async () => {
    const all = await page(env, { last: 1 });
    const p = await page(env, { first: 5, after: all.pageInfo.endCursor });
    expect(p.nodes).toEqual([]);
    expect(p.pageInfo.hasNextPage).toBe(false);
    expect(p.pageInfo.startCursor).toBeNull();
    expect(p.pageInfo.endCursor).toBeNull();
    expect(p.totalCount).toBe(250);
  });

  it('totalCount counts every customer matching the filter, not the page', async () => {
    const p = await page(env, { first: 5, filter: { search: 'team ' } });
    const expected = created.filter((_, i) => i % 7 === 0).length;
    expect(p.nodes).toHaveLength(5);
    expect(p.totalCount).toBe(expected);
    const all = await pageForward(env, { filter: { search: 'team ' } }, 100);
    expect(all).toHaveLength(expected);
  });

  describe('rejects bad paging arguments with BAD_USER_INPUT', () => {
    it('first: 0', async () => {
      expectBadUserInput(await env.exec(PAGE_QUERY, { first: 0 }));
    });
    it('first: 101', async () => {
      expectBadUserInput(await env.exec(PAGE_QUERY, { first: 101 }));
    });
    it('first: -1', async () => {
      expectBadUserInput(await env.exec(PAGE_QUERY, { first: -1 }));
    });
    it('last: 101', async () => {
      expectBadUserInput(await env.exec(PAGE_QUERY, { last: 101 }));
    });
    it('last: 0', async () => {
      expectBadUserInput(await env.exec(PAGE_QUERY, { last: 0 }));
    });
    it('first and last together', async () => {
      expectBadUserInput(await env.exec(PAGE_QUERY, { first: 10, last: 10 }));
    });
    it('a garbage cursor', async () => {
      expectBadUserInput(await env.exec(PAGE_QUERY, { first: 10, after: 'not-a-cursor' }));
      expectBadUserInput(await env.exec(PAGE_QUERY, { last: 10, before: '!!!' }));
      expectBadUserInput(await env.exec(PAGE_QUERY, { first: 10, after: Buffer.from('{"a":1}').toString('base64url') }));
    });
    it('a cursor of one sort used with another sort', async () => {
      const byEmail = await page(env, { first: 5, sort: { field: 'EMAIL' } });
      expectBadUserInput(await env.exec(PAGE_QUERY, { first: 5, after: byEmail.pageInfo.endCursor, sort: { field: 'NAME' } }));
      expectBadUserInput(await env.exec(PAGE_QUERY, { first: 5, after: byEmail.pageInfo.endCursor }));
      const byCreated = await page(env, { first: 5 });
      expectBadUserInput(await env.exec(PAGE_QUERY, { first: 5, after: byCreated.pageInfo.endCursor, sort: { field: 'UPDATED_AT' } }));
    });
    it('a cursor of one sort direction used with the opposite direction', async () => {
      const ascending = await page(env, { first: 5, sort: { field: 'EMAIL', direction: 'ASC' } });
      expectBadUserInput(
        await env.exec(PAGE_QUERY, { first: 5, after: ascending.pageInfo.endCursor, sort: { field: 'EMAIL', direction: 'DESC' } }),
      );
    });
    it('a cursor of a nested members list used with customers', async () => {
      const team = await createCustomer(env, { email: 'cursor-team@paging.example', type: 'TEAM' });
      await env.data(`mutation($input: AddMemberInput!) { addMember(input: $input) { userErrors { code } } }`, {
        input: { customerId: team.id, email: 'm@paging.example' },
      });
      const members = await env.data<{ customer: { members: { pageInfo: { endCursor: string } } } }>(
        `query($id: ID!) { customer(id: $id) { members(first: 1) { pageInfo { endCursor } } } }`,
        { id: team.id },
      );
      await env.data(`mutation($input: ArchiveCustomerInput!) { archiveCustomer(input: $input) { userErrors { code } } }`, {
        input: { id: team.id },
      });
      expect(members.customer.members.pageInfo.endCursor).toEqual(expect.any(String));
      expectBadUserInput(await env.exec(PAGE_QUERY, { first: 5, after: members.customer.members.pageInfo.endCursor }));
    });
    it('`before` with `first`', async () => {
      const p = await page(env, { first: 5 });
      expectBadUserInput(await env.exec(PAGE_QUERY, { first: 5, before: p.pageInfo.endCursor }));
    });
    it('`after` with `last`', async () => {
      const p = await page(env, { first: 5 });
      expectBadUserInput(await env.exec(PAGE_QUERY, { last: 5, after: p.pageInfo.endCursor }));
    });
  });
});

describe('keyset stability', () => {
  let env: TestEnv;
  afterEach(() => env.close());

  it('customers created between page fetches cause no duplicates or gaps in creation order', async () => {
    env = await createTestEnv();
    const original: string[] = [];
    for (let i = 0; i < 60; i++) original.push((await createCustomer(env, { email: `orig${i}@stable.example` })).id);
    let extra = 0;
    const seen = await pageForward(env, {}, 10, async () => {
      for (let k = 0; k < 3; k++) await createCustomer(env, { email: `new${extra++}@stable.example` });
    });
    const originalsSeen = ids(seen).filter((id) => original.includes(id));
    expect(originalsSeen).toEqual(original);
    expect(new Set(ids(seen)).size).toBe(seen.length);
  });

  it('customers inserted in the middle of the EMAIL order between fetches cause no duplicates or skips', async () => {
    env = await createTestEnv();
    const original: string[] = [];
    for (let i = 0; i < 50; i++) {
      original.push((await createCustomer(env, { email: `m${String(i * 2).padStart(3, '0')}@stable.example` })).id);
    }
    let n = 0;
    const seen = await pageForward(env, { sort: { field: 'EMAIL' } }, 10, async () => {
      // odd numbers land between the originals, before and after the current position
      for (let k = 0; k < 5; k++) {
        await createCustomer(env, { email: `m${String(n * 2 + 1).padStart(3, '0')}@stable.example` });
        n += 9;
        n %= 50;
      }
    });
    const originalsSeen = ids(seen).filter((id) => original.includes(id));
    expect(originalsSeen).toEqual(original);
    expect(new Set(ids(seen)).size).toBe(seen.length);
    const emails = seen.map((s) => s.email);
    expect(emails).toEqual([...emails].sort());
  });

  it('customers archived between page fetches cause no skips of the remaining ones', async () => {
    env = await createTestEnv();
    const original: string[] = [];
    for (let i = 0; i < 30; i++) original.push((await createCustomer(env, { email: `a${i}@stable.example` })).id);
    // archive customers on the page just returned: the cursor row disappears from the list
    let pageNo = 0;
    const seen = await pageForward(env, {}, 10, async () => {
      const lastOfPage = original[pageNo * 10 + 9];
      pageNo++;
      await env.data(`mutation($input: ArchiveCustomerInput!) { archiveCustomer(input: $input) { userErrors { code } } }`, {
        input: { id: lastOfPage },
      });
    });
    expect(ids(seen)).toEqual(original);
  });
});

describe('customers filters', () => {
  let env: TestEnv;
  let c: Record<string, string>;
  let t1: string;
  let t2: string;
  let t3: string;

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const archive = (id: string) =>
    env.data<{ archiveCustomer: { userErrors: unknown[] } }>(
      `mutation($input: ArchiveCustomerInput!) { archiveCustomer(input: $input) { customer { status } userErrors { code } } }`,
      { input: { id } },
    );

  /** Ids of every customer matching the filter (all pages), sorted for comparison. */
  async function matching(filter: Record<string, unknown>): Promise<string[]> {
    const all = await pageForward(env, { filter }, 100);
    const p = await page(env, { first: 1, filter });
    expect(p.totalCount).toBe(all.length);
    return ids(all).sort();
  }
  const idsOf = (...names: string[]) => names.map((n) => c[n]).sort();

  beforeAll(async () => {
    env = await createTestEnv();
    c = {};
    const add = async (key: string, input: Record<string, unknown>) => {
      c[key] = (await createCustomer(env, input)).id;
    };
    await add('smith', { email: 'john@alpha.example', firstName: 'John', lastName: 'Smith', billingAddress: { country: 'DE' } });
    await add('percent', { email: 'pct@alpha.example', firstName: '100% Pure', emailVerified: true });
    await add('plain100', { email: 'plain@alpha.example', firstName: '100 Pure', emailVerified: true });
    await add('under', { email: 'under_score@alpha.example', unsubscribed: true });
    await add('underx', { email: 'underxscore@alpha.example' });
    await pause(15);
    t1 = new Date().toISOString();
    await pause(15);
    await add('acme', { email: 'ops@acme.example', name: 'ACME Corporation', type: 'TEAM', billingAddress: { country: 'DE' } });
    await add('team2', { email: 'team2@beta.example', name: 'Blue Team', type: 'TEAM', billingAddress: { country: 'FR' }, emailVerified: true });
    await add('jane', { email: 'JANE.DOE@Gamma.example', firstName: 'Jane', lastName: 'Doe', billingAddress: { country: 'FR' }, unsubscribed: true });
    await pause(15);
    t2 = new Date().toISOString();
    await pause(15);
    await add('zed', { email: 'zed@delta.example', lastName: 'Zedman', billingAddress: { country: 'US', state: 'WI' } });
    await add('archivedTeam', { email: 'old@acme.example', name: 'Old Acme', type: 'TEAM', billingAddress: { country: 'DE' } });
    await add('archived', { email: 'gone@delta.example', firstName: 'Gone', emailVerified: true });
    await archive(c.archivedTeam);
    await archive(c.archived);
    await pause(15);
    t3 = new Date().toISOString();
    await pause(15);
    await env.data(`mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { userErrors { code } } }`, {
      input: { id: c.smith, internalNote: 'updated after t3' },
    });
    // a customer of the other workspace that matches every filter must never show up
    await createCustomer(env, { email: 'john@other.example', firstName: 'John', lastName: 'Smith', type: 'TEAM', billingAddress: { country: 'DE' } }, { key: env.b });
  });
  afterAll(() => env.close());

  const ACTIVE = ['smith', 'percent', 'plain100', 'under', 'underx', 'acme', 'team2', 'jane', 'zed'];

  it('lists only ACTIVE customers by default (and with an empty status list)', async () => {
    expect(await matching({})).toEqual(idsOf(...ACTIVE));
    expect(await matching({ status: [] })).toEqual(idsOf(...ACTIVE));
    expect(await matching({ status: ['ACTIVE'] })).toEqual(idsOf(...ACTIVE));
  });

  it('status [ARCHIVED] lists only archived customers', async () => {
    expect(await matching({ status: ['ARCHIVED'] })).toEqual(idsOf('archivedTeam', 'archived'));
  });

  it('status [ACTIVE, ARCHIVED] lists both', async () => {
    expect(await matching({ status: ['ACTIVE', 'ARCHIVED'] })).toEqual(idsOf(...ACTIVE, 'archivedTeam', 'archived'));
  });

  it('a restored customer is listed as ACTIVE again', async () => {
    const own = await createTestEnv();
    try {
      const id = (await createCustomer(own, { email: 'restored@omega.example' })).id;
      await own.data(`mutation($input: ArchiveCustomerInput!) { archiveCustomer(input: $input) { userErrors { code } } }`, { input: { id } });
      expect(ids((await page(own, {})).nodes)).toEqual([]);
      expect(ids((await page(own, { filter: { status: ['ARCHIVED'] } })).nodes)).toEqual([id]);
      await own.data(`mutation($input: RestoreCustomerInput!) { restoreCustomer(input: $input) { userErrors { code } } }`, { input: { id } });
      expect(ids((await page(own, {})).nodes)).toEqual([id]);
      expect(ids((await page(own, { filter: { status: ['ARCHIVED'] } })).nodes)).toEqual([]);
    } finally {
      await own.close();
    }
  });

  it('type TEAM lists only team customers', async () => {
    expect(await matching({ type: 'TEAM' })).toEqual(idsOf('acme', 'team2'));
    expect(await matching({ type: 'TEAM', status: ['ACTIVE', 'ARCHIVED'] })).toEqual(idsOf('acme', 'team2', 'archivedTeam'));
    expect(await matching({ type: 'INDIVIDUAL' })).toEqual(idsOf('smith', 'percent', 'plain100', 'under', 'underx', 'jane', 'zed'));
  });

  it('search matches the email case-insensitively', async () => {
    expect(await matching({ search: 'JANE.DOE@gamma' })).toEqual(idsOf('jane'));
    expect(await matching({ search: 'acme.EXAMPLE' })).toEqual(idsOf('acme'));
  });

  it('search matches the first name, last name and display name case-insensitively', async () => {
    expect(await matching({ search: 'jOhN' })).toEqual(idsOf('smith'));
    expect(await matching({ search: 'SMITH' })).toEqual(idsOf('smith'));
    expect(await matching({ search: 'zedMAN' })).toEqual(idsOf('zed'));
    expect(await matching({ search: 'acme corp' })).toEqual(idsOf('acme'));
    expect(await matching({ search: 'blue team' })).toEqual(idsOf('team2'));
    expect(await matching({ search: 'jane doe' })).toEqual(idsOf('jane'));
  });

  it('search matches non-ASCII names case-insensitively', async () => {
    const own = await createTestEnv();
    try {
      const id = (await createCustomer(own, { email: 'emile@omega.example', firstName: 'Émile', lastName: 'ÖZTÜRK' })).id;
      await createCustomer(own, { email: 'other@omega.example', firstName: 'Emil' });
      expect(ids((await page(own, { filter: { search: 'émile' } })).nodes)).toEqual([id]);
      expect(ids((await page(own, { filter: { search: 'ÉMILE' } })).nodes)).toEqual([id]);
      expect(ids((await page(own, { filter: { search: 'öztürk' } })).nodes)).toEqual([id]);
    } finally {
      await own.close();
    }
  });

  it('search and NAME sort follow a changed name, not the old one', async () => {
    const own = await createTestEnv();
    try {
      const a = (await createCustomer(own, { email: 'a@omega.example', firstName: 'Zoe' })).id;
      const b = (await createCustomer(own, { email: 'b@omega.example', firstName: 'Mia' })).id;
      await own.data(`mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { userErrors { code } } }`, {
        input: { id: a, firstName: 'Abby' },
      });
      expect(ids((await page(own, { filter: { search: 'zoe' } })).nodes)).toEqual([]);
      expect(ids((await page(own, { filter: { search: 'abby' } })).nodes)).toEqual([a]);
      expect(ids((await page(own, { sort: { field: 'NAME' } })).nodes)).toEqual([a, b]);
    } finally {
      await own.close();
    }
  });

  it('search ignores surrounding whitespace', async () => {
    expect(await matching({ search: '  smith  ' })).toEqual(idsOf('smith'));
  });

  it('search treats % literally', async () => {
    expect(await matching({ search: '100%' })).toEqual(idsOf('percent'));
    expect(await matching({ search: '%' })).toEqual(idsOf('percent'));
    expect(await matching({ search: '100' })).toEqual(idsOf('percent', 'plain100'));
  });

  it('search treats _ literally', async () => {
    expect(await matching({ search: 'under_score' })).toEqual(idsOf('under'));
    expect(await matching({ search: 'underxscore' })).toEqual(idsOf('underx'));
    expect(await matching({ search: '_' })).toEqual(idsOf('under'));
  });

  it('search treats a backslash literally', async () => {
    expect(await matching({ search: '\\' })).toEqual([]);
    expect(await matching({ search: '\\%' })).toEqual([]);
  });

  it('emailVerified filters both ways', async () => {
    expect(await matching({ emailVerified: true })).toEqual(idsOf('percent', 'plain100', 'team2'));
    expect(await matching({ emailVerified: false })).toEqual(idsOf('smith', 'under', 'underx', 'acme', 'jane', 'zed'));
  });

  it('unsubscribed filters both ways', async () => {
    expect(await matching({ unsubscribed: true })).toEqual(idsOf('under', 'jane'));
    expect(await matching({ unsubscribed: false })).toEqual(idsOf('smith', 'percent', 'plain100', 'underx', 'acme', 'team2', 'zed'));
  });

  it('country matches the billing address country', async () => {
    expect(await matching({ country: 'DE' })).toEqual(idsOf('smith', 'acme'));
    expect(await matching({ country: 'FR' })).toEqual(idsOf('team2', 'jane'));
    expect(await matching({ country: 'US' })).toEqual(idsOf('zed'));
    expect(await matching({ country: 'de' })).toEqual(idsOf('smith', 'acme'));
    expect(await matching({ country: 'GB' })).toEqual([]);
  });

  it('an unknown country is rejected with BAD_USER_INPUT', async () => {
    expectBadUserInput(await env.exec(PAGE_QUERY, { filter: { country: 'XX' } }));
  });

  it('createdAfter and createdBefore bound the creation time', async () => {
    expect(await matching({ createdAfter: t1 })).toEqual(idsOf('acme', 'team2', 'jane', 'zed'));
    expect(await matching({ createdBefore: t1 })).toEqual(idsOf('smith', 'percent', 'plain100', 'under', 'underx'));
    expect(await matching({ createdAfter: t1, createdBefore: t2 })).toEqual(idsOf('acme', 'team2', 'jane'));
    expect(await matching({ createdAfter: t2, status: ['ARCHIVED'] })).toEqual(idsOf('archivedTeam', 'archived'));
  });

  it('createdAfter accepts an instant with a time zone offset', async () => {
    const shifted = new Date(t1);
    const local = new Date(shifted.getTime() + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    expect(await matching({ createdAfter: local })).toEqual(idsOf('acme', 'team2', 'jane', 'zed'));
  });

  it('updatedAfter lists customers changed after the instant', async () => {
    expect(await matching({ updatedAfter: t3 })).toEqual(idsOf('smith'));
    expect(await matching({ updatedAfter: t3, status: ['ARCHIVED'] })).toEqual([]);
    expect(await matching({ updatedAfter: t2, status: ['ARCHIVED'] })).toEqual(idsOf('archivedTeam', 'archived'));
  });

  it('filters combine with AND', async () => {
    expect(await matching({ type: 'TEAM', country: 'DE' })).toEqual(idsOf('acme'));
    expect(await matching({ type: 'TEAM', country: 'DE', status: ['ACTIVE', 'ARCHIVED'] })).toEqual(idsOf('acme', 'archivedTeam'));
    expect(await matching({ emailVerified: true, search: '100' })).toEqual(idsOf('percent', 'plain100'));
    expect(await matching({ emailVerified: true, search: 'pure', createdBefore: t1 })).toEqual(idsOf('percent', 'plain100'));
    expect(await matching({ country: 'FR', unsubscribed: true })).toEqual(idsOf('jane'));
    expect(await matching({ country: 'FR', unsubscribed: true, type: 'TEAM' })).toEqual([]);
    expect(await matching({ search: 'acme', status: ['ACTIVE', 'ARCHIVED'], createdAfter: t2 })).toEqual(idsOf('archivedTeam'));
  });

  it('never lists customers of another workspace', async () => {
    expect(await matching({ search: 'john' })).toEqual(idsOf('smith'));
    const theirs = await env.data<{ customers: Page }>(PAGE_QUERY, { filter: { search: 'john' } }, { key: env.b });
    expect(theirs.customers.nodes.map((n) => n.email)).toEqual(['john@other.example']);
    expect(theirs.customers.totalCount).toBe(1);
  });

  it('filtered paging keeps working across pages', async () => {
    const forward = await pageForward(env, { filter: { status: ['ACTIVE', 'ARCHIVED'] }, sort: { field: 'EMAIL' } }, 2);
    expect(forward.map((n) => n.email)).toEqual(forward.map((n) => n.email).sort());
    expect(forward).toHaveLength(ACTIVE.length + 2);
  });
});
