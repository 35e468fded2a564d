/**
 * Members of TEAM customers (add, update, remove, paging), their audit trail, and Relay
 * node/nodes lookups, through the public GraphQL API.
 */
import { createCustomer, createTestEnv, snapshot, type TestEnv } from './helpers';

const MEMBER = 'id email name externalId role createdAt updatedAt customer { id }';
const ACTIONS = 'actions(first: 10) { totalCount nodes { id type memberId member { id } changes actor via createdAt } }';
const PAYLOAD_CUSTOMER = `customer { id version type members(first: 50) { totalCount nodes { id email } } ${ACTIONS} }`;
const ERRORS = 'userErrors { field message code }';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const ADD = `mutation($input: AddMemberInput!) { addMember(input: $input) { member { ${MEMBER} } ${PAYLOAD_CUSTOMER} ${ERRORS} } }`;
const UPDATE = `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { ${MEMBER} } ${PAYLOAD_CUSTOMER} ${ERRORS} } }`;
const REMOVE = `mutation($input: RemoveMemberInput!) { removeMember(input: $input) { removedMemberId ${PAYLOAD_CUSTOMER} ${ERRORS} } }`;
const UPDATE_CUSTOMER = `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { id type version } ${ERRORS} } }`;
const CUSTOMER = `query($id: ID!) { customer(id: $id) { id version members(first: 50) { totalCount nodes { ${MEMBER} } } ${ACTIONS} } }`;

interface UserError {
  field: string[] | null;
  message: string;
  code: string;
}
interface ActionNode {
  id: string;
  type: string;
  memberId: string | null;
  member: { id: string } | null;
  changes: Record<string, { from: unknown; to: unknown }>;
  actor: string | null;
  via: string | null;
  createdAt: string;
}
interface PayloadCustomer {
  id: string;
  version: number;
  type: string;
  members: { totalCount: number; nodes: { id: string; email: string }[] };
  actions: { totalCount: number; nodes: ActionNode[] };
}
interface MemberNode {
  id: string;
  email: string;
  name: string | null;
  externalId: string | null;
  role: string;
  createdAt: string;
  updatedAt: string;
  customer: { id: string };
}
interface MemberPayload {
  member: MemberNode | null;
  customer: PayloadCustomer | null;
  userErrors: UserError[];
}

let env: TestEnv;

/** The result as an HTTP client sees it (JSON), so DateTime values are ISO strings. */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

beforeEach(async () => {
  env = await createTestEnv();
});
afterEach(() => env.close());

async function addMember(input: Record<string, unknown>, as?: Parameters<TestEnv['data']>[2]): Promise<MemberPayload> {
  return plain((await env.data<{ addMember: MemberPayload }>(ADD, { input }, as)).addMember);
}
async function updateMember(input: Record<string, unknown>): Promise<MemberPayload> {
  return plain((await env.data<{ updateMember: MemberPayload }>(UPDATE, { input })).updateMember);
}
async function removeMember(input: Record<string, unknown>) {
  return plain(
    (
      await env.data<{ removeMember: { removedMemberId: string | null; customer: PayloadCustomer | null; userErrors: UserError[] } }>(REMOVE, {
        input,
      })
    ).removeMember,
  );
}
async function readCustomer(id: string) {
  return plain(
    (
      await env.data<{ customer: { id: string; version: number; members: { totalCount: number; nodes: MemberNode[] }; actions: PayloadCustomer['actions'] } }>(
        CUSTOMER,
        { id },
      )
    ).customer,
  );
}
async function team(email = 'team@members.example') {
  return createCustomer(env, { email, name: 'A Team', type: 'TEAM' });
}
/** The (field, code) pairs of user errors, sorted, for comparing without the wording. */
const codes = (errors: UserError[]) => errors.map((e) => [e.field, e.code]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** Runs a rejected mutation and checks that no row of any table changed. */
async function expectNothingWritten<T>(run: () => Promise<T>): Promise<T> {
  const before = await snapshot(env.store);
  const result = await run();
  expect(await snapshot(env.store)).toEqual(before);
  return result;
}

describe('addMember', () => {
  it('adds a member with normalised email and default role MEMBER', async () => {
    const customer = await team();
    const payload = await addMember({ customerId: customer.id, email: '  Ann.Lee@Team.EXAMPLE ', name: ' Ann Lee ', externalId: 'ext-1' });
    expect(payload.userErrors).toEqual([]);
    expect(payload.member).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      email: 'ann.lee@team.example',
      name: 'Ann Lee',
      externalId: 'ext-1',
      role: 'MEMBER',
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
      customer: { id: customer.id },
    });
    expect(payload.member?.createdAt).toBe(payload.member?.updatedAt);
  });

  it('keeps an explicit role OWNER', async () => {
    const customer = await team();
    const payload = await addMember({ customerId: customer.id, email: 'owner@team.example', role: 'OWNER' });
    expect(payload.member?.role).toBe('OWNER');
  });

  it('bumps the customer version by one and returns the updated customer in the payload', async () => {
    const customer = await team();
    expect(customer.version).toBe(1);
    const payload = await addMember({ customerId: customer.id, email: 'ann@team.example', name: 'Ann' });
    expect(payload.customer?.id).toBe(customer.id);
    expect(payload.customer?.version).toBe(2);
    expect(payload.customer?.members).toEqual({ totalCount: 1, nodes: [{ id: payload.member?.id, email: 'ann@team.example' }] });
    const stored = await readCustomer(customer.id);
    expect(stored.version).toBe(2);
    expect(stored.members.nodes.map((m) => m.id)).toEqual([payload.member?.id]);
  });

  it('writes a MEMBER_ADDED action with the member and the fields it set', async () => {
    const customer = await team();
    const payload = await addMember({ customerId: customer.id, email: 'Ann@Team.example', name: 'Ann', externalId: 'e-1' });
    const memberId = payload.member?.id;
    expect(payload.customer?.actions.totalCount).toBe(2);
    const [added, created] = payload.customer?.actions.nodes ?? [];
    expect(created.type).toBe('CUSTOMER_CREATED');
    expect(added).toEqual({
      id: expect.any(String),
      type: 'MEMBER_ADDED',
      memberId,
      member: { id: memberId },
      changes: {
        email: { from: null, to: 'ann@team.example' },
        name: { from: null, to: 'Ann' },
        externalId: { from: null, to: 'e-1' },
        role: { from: null, to: 'MEMBER' },
      },
      actor: 'alpha-test',
      via: 'api',
      createdAt: expect.stringMatching(ISO),
    });
    // the same entry is what a later read sees
    expect((await readCustomer(customer.id)).actions.nodes[0]).toEqual(added);
  });

  it('records the X-Actor and X-Via of the request on the action', async () => {
    const customer = await team();
    await addMember({ customerId: customer.id, email: 'ann@team.example' }, { actor: 'agent-7', via: 'backoffice' });
    const [added] = (await readCustomer(customer.id)).actions.nodes;
    expect([added.type, added.actor, added.via]).toEqual(['MEMBER_ADDED', 'agent-7', 'backoffice']);
  });

  it('rejects a member for an INDIVIDUAL customer with INVALID on customerId and writes nothing', async () => {
    const person = await createCustomer(env, { email: 'person@members.example' });
    const payload = await expectNothingWritten(() => addMember({ customerId: person.id, email: 'ann@team.example' }));
    expect(payload.member).toBeNull();
    expect(payload.customer).toBeNull();
    expect(codes(payload.userErrors)).toEqual([[['customerId'], 'INVALID']]);
  });

  it('rejects an unknown customerId with NOT_FOUND and writes nothing', async () => {
    await team();
    const payload = await expectNothingWritten(() =>
      addMember({ customerId: '01900000-0000-7000-8000-000000000000', email: 'ann@team.example' }),
    );
    expect(payload.member).toBeNull();
    expect(codes(payload.userErrors)).toEqual([[['customerId'], 'NOT_FOUND']]);
    const notUuid = await expectNothingWritten(() => addMember({ customerId: 'not-a-uuid', email: 'ann@team.example' }));
    expect(codes(notUuid.userErrors)).toEqual([[['customerId'], 'NOT_FOUND']]);
  });

  it('rejects a TEAM customer of another workspace with NOT_FOUND', async () => {
    const theirs = await createCustomer(env, { email: 'theirs@members.example', type: 'TEAM' }, { key: env.b });
    const payload = await expectNothingWritten(() => addMember({ customerId: theirs.id, email: 'ann@team.example' }));
    expect(codes(payload.userErrors)).toEqual([[['customerId'], 'NOT_FOUND']]);
  });

  it('rejects an email already used by a member of the same customer (case-insensitively) with TAKEN', async () => {
    const customer = await team();
    await addMember({ customerId: customer.id, email: 'ann@team.example' });
    const payload = await expectNothingWritten(() => addMember({ customerId: customer.id, email: ' ANN@team.example' }));
    expect(payload.member).toBeNull();
    expect(codes(payload.userErrors)).toEqual([[['email'], 'TAKEN']]);
  });

  it('rejects an externalId already used by a member of the same customer with TAKEN', async () => {
    const customer = await team();
    await addMember({ customerId: customer.id, email: 'ann@team.example', externalId: 'x-1' });
    const payload = await expectNothingWritten(() => addMember({ customerId: customer.id, email: 'bob@team.example', externalId: 'x-1' }));
    expect(codes(payload.userErrors)).toEqual([[['externalId'], 'TAKEN']]);
  });

  it('reports a taken email and a taken externalId at once', async () => {
    const customer = await team();
    await addMember({ customerId: customer.id, email: 'ann@team.example', externalId: 'x-1' });
    await addMember({ customerId: customer.id, email: 'bob@team.example', externalId: 'x-2' });
    const payload = await expectNothingWritten(() => addMember({ customerId: customer.id, email: 'bob@team.example', externalId: 'x-1' }));
    expect(codes(payload.userErrors)).toEqual([
      [['email'], 'TAKEN'],
      [['externalId'], 'TAKEN'],
    ]);
  });

  it('allows the same email and externalId in two different customers', async () => {
    const one = await team('one@members.example');
    const two = await team('two@members.example');
    const first = await addMember({ customerId: one.id, email: 'ann@team.example', externalId: 'x-1' });
    const second = await addMember({ customerId: two.id, email: 'ann@team.example', externalId: 'x-1' });
    expect(first.userErrors).toEqual([]);
    expect(second.userErrors).toEqual([]);
    expect(second.member?.customer.id).toBe(two.id);
    expect(second.member?.id).not.toBe(first.member?.id);
  });

  it('rejects an invalid email with INVALID and writes nothing', async () => {
    const customer = await team();
    const payload = await expectNothingWritten(() => addMember({ customerId: customer.id, email: 'not-an-email' }));
    expect(payload.member).toBeNull();
    expect(codes(payload.userErrors)).toEqual([[['email'], 'INVALID']]);
  });

  it('rejects a blank email with REQUIRED', async () => {
    const customer = await team();
    const payload = await expectNothingWritten(() => addMember({ customerId: customer.id, email: '   ' }));
    expect(codes(payload.userErrors)).toEqual([[['email'], 'REQUIRED']]);
  });

  it('rejects a name over 256 characters with TOO_LONG', async () => {
    const customer = await team();
    const payload = await expectNothingWritten(() => addMember({ customerId: customer.id, email: 'ann@team.example', name: 'x'.repeat(257) }));
    expect(codes(payload.userErrors)).toEqual([[['name'], 'TOO_LONG']]);
  });

  it('reports every problem of the input at once', async () => {
    const person = await createCustomer(env, { email: 'person@members.example' });
    const payload = await expectNothingWritten(() => addMember({ customerId: person.id, email: 'bad email', name: 'y'.repeat(300) }));
    expect(codes(payload.userErrors)).toEqual([
      [['customerId'], 'INVALID'],
      [['email'], 'INVALID'],
      [['name'], 'TOO_LONG'],
    ]);
  });
});

describe('updateMember', () => {
  async function withMember() {
    const customer = await team();
    const added = await addMember({ customerId: customer.id, email: 'ann@team.example', name: 'Ann', externalId: 'x-1' });
    return { customer, member: added.member as MemberNode };
  }

  it('changes only the name when only the name is given', async () => {
    const { customer, member } = await withMember();
    const payload = await updateMember({ id: member.id, name: 'Annie' });
    expect(payload.userErrors).toEqual([]);
    expect(payload.member).toEqual({ ...member, name: 'Annie', updatedAt: expect.stringMatching(ISO) });
    expect(payload.member?.createdAt).toBe(member.createdAt);
    expect((payload.member?.updatedAt ?? '') >= member.updatedAt).toBe(true);
    expect(payload.customer?.version).toBe(3);
    const [updated] = payload.customer?.actions.nodes ?? [];
    expect(updated.type).toBe('MEMBER_UPDATED');
    expect(updated.memberId).toBe(member.id);
    expect(updated.member).toEqual({ id: member.id });
    expect(updated.changes).toEqual({ name: { from: 'Ann', to: 'Annie' } });
    expect((await readCustomer(customer.id)).members.nodes[0].name).toBe('Annie');
  });

  it('changes the role and audits only the role', async () => {
    const { member } = await withMember();
    const payload = await updateMember({ id: member.id, role: 'OWNER' });
    expect(payload.member).toMatchObject({ email: 'ann@team.example', name: 'Ann', externalId: 'x-1', role: 'OWNER' });
    expect(payload.customer?.actions.nodes[0].changes).toEqual({ role: { from: 'MEMBER', to: 'OWNER' } });
  });

  it('normalises a new email and clears the name with an explicit null', async () => {
    const { member } = await withMember();
    const payload = await updateMember({ id: member.id, email: ' Ann.New@Team.Example', name: null });
    expect(payload.member).toMatchObject({ email: 'ann.new@team.example', name: null, externalId: 'x-1' });
    expect(payload.customer?.actions.nodes[0].changes).toEqual({
      email: { from: 'ann@team.example', to: 'ann.new@team.example' },
      name: { from: 'Ann', to: null },
    });
  });

  it('changes nothing, and does not bump the version, when the values are the same', async () => {
    const { customer, member } = await withMember();
    const before = await readCustomer(customer.id);
    const payload = await updateMember({ id: member.id, name: 'Ann', email: 'ANN@team.example' });
    expect(payload.userErrors).toEqual([]);
    expect(payload.member).toEqual(member);
    const after = await readCustomer(customer.id);
    expect(after.version).toBe(before.version);
    expect(after.actions.totalCount).toBe(before.actions.totalCount);
  });

  it('rejects taking another member’s email with TAKEN and writes nothing', async () => {
    const { customer, member } = await withMember();
    await addMember({ customerId: customer.id, email: 'bob@team.example', externalId: 'x-2' });
    const payload = await expectNothingWritten(() => updateMember({ id: member.id, email: 'Bob@team.example' }));
    expect(payload.member).toBeNull();
    expect(codes(payload.userErrors)).toEqual([[['email'], 'TAKEN']]);
    const taken = await expectNothingWritten(() => updateMember({ id: member.id, externalId: 'x-2' }));
    expect(codes(taken.userErrors)).toEqual([[['externalId'], 'TAKEN']]);
  });

  it('rejects an unknown member id with NOT_FOUND', async () => {
    await withMember();
    const payload = await expectNothingWritten(() => updateMember({ id: '01900000-0000-7000-8000-000000000000', name: 'X' }));
    expect(payload.member).toBeNull();
    expect(codes(payload.userErrors)).toEqual([[['id'], 'NOT_FOUND']]);
    const notUuid = await expectNothingWritten(() => updateMember({ id: 'nope', name: 'X' }));
    expect(codes(notUuid.userErrors)).toEqual([[['id'], 'NOT_FOUND']]);
  });

  it('rejects a member of another workspace with NOT_FOUND', async () => {
    const theirs = await createCustomer(env, { email: 'theirs@members.example', type: 'TEAM' }, { key: env.b });
    const added = await addMember({ customerId: theirs.id, email: 'ann@team.example' }, { key: env.b });
    const payload = await expectNothingWritten(() => updateMember({ id: added.member?.id, name: 'Hijacked' }));
    expect(codes(payload.userErrors)).toEqual([[['id'], 'NOT_FOUND']]);
  });

  it('rejects an explicit null email with REQUIRED', async () => {
    const { member } = await withMember();
    const payload = await expectNothingWritten(() => updateMember({ id: member.id, email: null }));
    expect(codes(payload.userErrors)).toEqual([[['email'], 'REQUIRED']]);
  });
});

describe('removeMember', () => {
  it('removes the member and keeps a MEMBER_REMOVED action with a snapshot of it', async () => {
    const customer = await team();
    const ann = (await addMember({ customerId: customer.id, email: 'ann@team.example', name: 'Ann', externalId: 'x-1', role: 'OWNER' })).member as MemberNode;
    const bob = (await addMember({ customerId: customer.id, email: 'bob@team.example' })).member as MemberNode;
    const payload = await removeMember({ id: ann.id });
    expect(payload.userErrors).toEqual([]);
    expect(payload.removedMemberId).toBe(ann.id);
    expect(payload.customer?.version).toBe(4);
    expect(payload.customer?.members).toEqual({ totalCount: 1, nodes: [{ id: bob.id, email: 'bob@team.example' }] });
    const [removed] = payload.customer?.actions.nodes ?? [];
    expect(removed).toEqual({
      id: expect.any(String),
      type: 'MEMBER_REMOVED',
      memberId: ann.id,
      member: null,
      changes: {
        email: { from: 'ann@team.example', to: null },
        name: { from: 'Ann', to: null },
        externalId: { from: 'x-1', to: null },
        role: { from: 'OWNER', to: null },
      },
      actor: 'alpha-test',
      via: 'api',
      createdAt: expect.stringMatching(ISO),
    });
  });

  it('keeps the earlier actions of a removed member with memberId and a null member', async () => {
    const customer = await team();
    const ann = (await addMember({ customerId: customer.id, email: 'ann@team.example' })).member as MemberNode;
    await updateMember({ id: ann.id, name: 'Ann' });
    await removeMember({ id: ann.id });
    const stored = await readCustomer(customer.id);
    expect(stored.members).toEqual({ totalCount: 0, nodes: [] });
    expect(stored.actions.nodes.map((a) => [a.type, a.memberId, a.member])).toEqual([
      ['MEMBER_REMOVED', ann.id, null],
      ['MEMBER_UPDATED', ann.id, null],
      ['MEMBER_ADDED', ann.id, null],
      ['CUSTOMER_CREATED', null, null],
    ]);
    const node = await env.data<{ node: unknown }>(`query($id: ID!) { node(id: $id) { id } }`, { id: ann.id });
    expect(node.node).toBeNull();
  });

  it('frees the removed member’s email for a new member', async () => {
    const customer = await team();
    const ann = (await addMember({ customerId: customer.id, email: 'ann@team.example', externalId: 'x-1' })).member as MemberNode;
    await removeMember({ id: ann.id });
    const again = await addMember({ customerId: customer.id, email: 'ann@team.example', externalId: 'x-1' });
    expect(again.userErrors).toEqual([]);
    expect(again.member?.id).not.toBe(ann.id);
  });

  it('rejects an unknown or already removed member id with NOT_FOUND and writes nothing', async () => {
    const customer = await team();
    const ann = (await addMember({ customerId: customer.id, email: 'ann@team.example' })).member as MemberNode;
    await removeMember({ id: ann.id });
    const again = await expectNothingWritten(() => removeMember({ id: ann.id }));
    expect(again).toEqual({ removedMemberId: null, customer: null, userErrors: [expect.objectContaining({ field: ['id'], code: 'NOT_FOUND' })] });
    const unknown = await expectNothingWritten(() => removeMember({ id: '01900000-0000-7000-8000-000000000000' }));
    expect(codes(unknown.userErrors)).toEqual([[['id'], 'NOT_FOUND']]);
    const garbage = await expectNothingWritten(() => removeMember({ id: 'garbage' }));
    expect(codes(garbage.userErrors)).toEqual([[['id'], 'NOT_FOUND']]);
  });
});

describe('several member mutations in one request', () => {
  it('a second updateMember in the same request shows the member as the first one left it changed again', async () => {
    const customer = await team();
    const ann = (await addMember({ customerId: customer.id, email: 'ann@team.example', name: 'Ann' })).member as MemberNode;
    const result = plain(
      await env.data<any>(
        `mutation($id: ID!) {
          first: updateMember(input: { id: $id, name: "Ann One" }) { customer { actions(first: 1) { nodes { type member { id name } } } } }
          second: updateMember(input: { id: $id, name: "Ann Two" }) { customer { actions(first: 1) { nodes { type member { id name } } } } }
        }`,
        { id: ann.id },
      ),
    );
    expect(result.first.customer.actions.nodes).toEqual([{ type: 'MEMBER_UPDATED', member: { id: ann.id, name: 'Ann One' } }]);
    expect(result.second.customer.actions.nodes).toEqual([{ type: 'MEMBER_UPDATED', member: { id: ann.id, name: 'Ann Two' } }]);
  });

  it('after removeMember in the same request, the actions of the removed member resolve `member` to null', async () => {
    const customer = await team();
    const ann = (await addMember({ customerId: customer.id, email: 'ann@team.example', name: 'Ann' })).member as MemberNode;
    const result = plain(
      await env.data<any>(
        `mutation($id: ID!) {
          renamed: updateMember(input: { id: $id, name: "Ann One" }) { customer { actions(first: 1) { nodes { type member { id } } } } }
          gone: removeMember(input: { id: $id }) { removedMemberId customer { actions(first: 2) { nodes { type memberId member { id } } } } }
        }`,
        { id: ann.id },
      ),
    );
    expect(result.renamed.customer.actions.nodes).toEqual([{ type: 'MEMBER_UPDATED', member: { id: ann.id } }]);
    expect(result.gone.removedMemberId).toBe(ann.id);
    expect(result.gone.customer.actions.nodes).toEqual([
      { type: 'MEMBER_REMOVED', memberId: ann.id, member: null },
      { type: 'MEMBER_UPDATED', memberId: ann.id, member: null },
    ]);
  });

  it('members added one after another in one request all show up in the last payload', async () => {
    const customer = await team();
    const result = plain(
      await env.data<any>(
        `mutation($id: ID!) {
          a: addMember(input: { customerId: $id, email: "a@team.example" }) { customer { version members { totalCount nodes { email } } } }
          b: addMember(input: { customerId: $id, email: "b@team.example" }) { customer { version members { totalCount nodes { email } } } }
        }`,
        { id: customer.id },
      ),
    );
    expect(result.a.customer).toEqual({ version: 2, members: { totalCount: 1, nodes: [{ email: 'a@team.example' }] } });
    expect(result.b.customer).toEqual({ version: 3, members: { totalCount: 2, nodes: [{ email: 'a@team.example' }, { email: 'b@team.example' }] } });
  });
});

describe('Customer.members paging', () => {
  const PAGE = `query($id: ID!, $first: Int, $after: String) { customer(id: $id) {
    members(first: $first, after: $after) { totalCount edges { cursor node { id email } } nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }
  } }`;
  interface MemberPage {
    totalCount: number;
    edges: { cursor: string; node: { id: string; email: string } }[];
    nodes: { id: string }[];
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  }
  const members = async (id: string, first?: number, after?: string | null) =>
    (await env.data<{ customer: { members: MemberPage } }>(PAGE, { id, first, after })).customer.members;

  it('pages 12 members oldest first with first/after and counts them all', async () => {
    const customer = await team();
    const added: string[] = [];
    for (let i = 0; i < 12; i++) {
      added.push(((await addMember({ customerId: customer.id, email: `m${String(12 - i).padStart(2, '0')}@team.example` })).member as MemberNode).id);
    }
    const one = await members(customer.id, 5);
    expect(one.totalCount).toBe(12);
    expect(one.nodes.map((n) => n.id)).toEqual(added.slice(0, 5));
    expect(one.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: one.edges[0].cursor, endCursor: one.edges[4].cursor });
    const two = await members(customer.id, 5, one.pageInfo.endCursor);
    expect(two.nodes.map((n) => n.id)).toEqual(added.slice(5, 10));
    expect(two.pageInfo.hasNextPage).toBe(true);
    const three = await members(customer.id, 5, two.pageInfo.endCursor);
    expect(three.nodes.map((n) => n.id)).toEqual(added.slice(10));
    expect(three.pageInfo.hasNextPage).toBe(false);
    expect(three.totalCount).toBe(12);
    const resumed = await members(customer.id, 2, one.edges[2].cursor);
    expect(resumed.nodes.map((n) => n.id)).toEqual(added.slice(3, 5));
  });

  it('defaults to 20 members and returns an empty connection for an INDIVIDUAL customer', async () => {
    const person = await createCustomer(env, { email: 'solo@members.example' });
    expect(await members(person.id)).toEqual({
      totalCount: 0,
      edges: [],
      nodes: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
    const customer = await team();
    for (let i = 0; i < 22; i++) await addMember({ customerId: customer.id, email: `d${i}@team.example` });
    const page = await members(customer.id);
    expect(page.nodes).toHaveLength(20);
    expect(page.pageInfo.hasNextPage).toBe(true);
    expect(page.totalCount).toBe(22);
  });

  it('rejects members(first: 0), members(first: 101) and a foreign cursor with BAD_USER_INPUT', async () => {
    const customer = await team();
    await addMember({ customerId: customer.id, email: 'ann@team.example' });
    for (const args of [{ first: 0 }, { first: 101 }, { first: 5, after: 'garbage' }]) {
      const result = await env.exec(PAGE, { id: customer.id, ...args });
      expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    }
    const customersCursor = (await env.data<{ customers: { pageInfo: { endCursor: string } } }>(`{ customers(first: 1) { pageInfo { endCursor } } }`))
      .customers.pageInfo.endCursor;
    const foreign = await env.exec(PAGE, { id: customer.id, first: 5, after: customersCursor });
    expect(foreign.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses to turn a TEAM with members into an INDIVIDUAL (INVALID on type) until the members are gone', async () => {
    const customer = await team();
    const ann = (await addMember({ customerId: customer.id, email: 'ann@team.example' })).member as MemberNode;
    const rejected = await expectNothingWritten(() =>
      env.data<{ updateCustomer: { customer: unknown; userErrors: UserError[] } }>(UPDATE_CUSTOMER, { input: { id: customer.id, type: 'INDIVIDUAL' } }),
    );
    expect(codes(rejected.updateCustomer.userErrors)).toEqual([[['type'], 'INVALID']]);
    await removeMember({ id: ann.id });
    const accepted = await env.data<{ updateCustomer: { customer: { type: string; version: number }; userErrors: UserError[] } }>(UPDATE_CUSTOMER, {
      input: { id: customer.id, type: 'INDIVIDUAL' },
    });
    expect(accepted.updateCustomer.userErrors).toEqual([]);
    expect(accepted.updateCustomer.customer).toMatchObject({ type: 'INDIVIDUAL', version: 4 });
  });
});

describe('node and nodes', () => {
  const NODE = `query($id: ID!) { node(id: $id) { __typename id
    ... on Customer { email }
    ... on Member { email customer { id } }
    ... on Action { type customer { id } }
  } }`;
  const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`;

  async function fixture() {
    const customer = await team();
    const member = (await addMember({ customerId: customer.id, email: 'ann@team.example' })).member as MemberNode;
    const action = (await readCustomer(customer.id)).actions.nodes[0];
    return { customer, member, action };
  }

  it('node resolves a Customer, a Member and an Action by id', async () => {
    const { customer, member, action } = await fixture();
    expect((await env.data(NODE, { id: customer.id })).node).toEqual({ __typename: 'Customer', id: customer.id, email: 'team@members.example' });
    expect((await env.data(NODE, { id: member.id })).node).toEqual({
      __typename: 'Member',
      id: member.id,
      email: 'ann@team.example',
      customer: { id: customer.id },
    });
    expect((await env.data(NODE, { id: action.id })).node).toEqual({
      __typename: 'Action',
      id: action.id,
      type: 'MEMBER_ADDED',
      customer: { id: customer.id },
    });
  });

  it('node returns null for unknown, non-UUID and other-workspace ids', async () => {
    await fixture();
    const theirs = await createCustomer(env, { email: 'theirs@members.example' }, { key: env.b });
    for (const id of ['01900000-0000-7000-8000-000000000000', 'not-a-uuid', '', theirs.id]) {
      const result = await env.exec(NODE, { id });
      expect(result.errors).toBeUndefined();
      expect(result.data?.node).toBeNull();
    }
  });

  it('nodes resolves mixed ids in the order given, null where missing', async () => {
    const { customer, member, action } = await fixture();
    const result = await env.data(NODES, { ids: [action.id, 'nope', member.id, customer.id, '01900000-0000-7000-8000-000000000000', customer.id] });
    expect(result.nodes).toEqual([
      { __typename: 'Action', id: action.id },
      null,
      { __typename: 'Member', id: member.id },
      { __typename: 'Customer', id: customer.id },
      null,
      { __typename: 'Customer', id: customer.id },
    ]);
  });

  it('nodes accepts 100 ids and rejects 101 with BAD_USER_INPUT', async () => {
    const { customer } = await fixture();
    const hundred = await env.data(NODES, { ids: Array.from({ length: 100 }, () => customer.id) });
    expect(hundred.nodes).toHaveLength(100);
    const result = await env.exec(NODES, { ids: Array.from({ length: 101 }, () => customer.id) });
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(result.data ?? null).toBeNull();
  });
});
