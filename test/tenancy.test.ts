/**
 * Tenant isolation: a workspace never sees, changes or collides with another workspace's
 * records, through any query, mutation or federation entry point.
 */
import { createCustomer, createTestEnv, USER_ERRORS, type TestEnv } from './helpers';

let env: TestEnv;
/** beta's TEAM customer, its member and its custom field. */
let betaCustomer: Record<string, any>;
let betaMemberId: string;

const BETA_EMAIL = 'shared@example.com';
const BETA_EXTERNAL_ID = 'ext-shared-1';
const BETA_FIELD = 'beta_tier';

const asBeta = () => ({ key: env.b });

async function betaView(id: string) {
  const data = await env.data<{ customer: Record<string, any> | null }>(
    `query($id: ID!) { customer(id: $id) { id email status version archivedAt firstName externalId members { totalCount nodes { id email name role } } } }`,
    { id },
    asBeta(),
  );
  return data.customer;
}

beforeAll(async () => {
  env = await createTestEnv();
  const defined = await env.data<{ defineCustomField: { customFieldDefinition: unknown; userErrors: unknown[] } }>(
    `mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) { customFieldDefinition { key } ${USER_ERRORS} } }`,
    { input: { key: BETA_FIELD, label: 'Beta tier', valueType: 'STRING', searchable: true } },
    asBeta(),
  );
  expect(defined.defineCustomField.userErrors).toEqual([]);
  betaCustomer = await createCustomer(
    env,
    {
      email: BETA_EMAIL,
      externalId: BETA_EXTERNAL_ID,
      firstName: 'Bea',
      type: 'TEAM',
      customFields: [{ key: BETA_FIELD, value: 'gold' }],
    },
    asBeta(),
  );
  const added = await env.data<{ addMember: { member: { id: string } | null; userErrors: unknown[] } }>(
    `mutation($input: AddMemberInput!) { addMember(input: $input) { member { id } ${USER_ERRORS} } }`,
    { input: { customerId: betaCustomer.id, email: 'member@example.com', name: 'Mem Ber' } },
    asBeta(),
  );
  expect(added.addMember.userErrors).toEqual([]);
  betaMemberId = added.addMember.member!.id;
});

afterAll(() => env.close());

describe('setup as seen by the owning workspace', () => {
  it('beta sees its own customer, member and custom field value', async () => {
    const data = await env.data<{ customer: Record<string, any> }>(
      `query($id: ID!) { customer(id: $id) { id customFields { key value } members { nodes { id } } } }`,
      { id: betaCustomer.id },
      asBeta(),
    );
    expect(data.customer.id).toBe(betaCustomer.id);
    expect(data.customer.customFields).toEqual([{ key: BETA_FIELD, value: 'gold' }]);
    expect(data.customer.members.nodes).toEqual([{ id: betaMemberId }]);
  });
});

describe('reads as another workspace', () => {
  it("reports alpha's own workspace name", async () => {
    const data = await env.data<{ workspace: { name: string } }>(`{ workspace { name } }`);
    expect(data.workspace.name).toBe('alpha');
  });

  it("customer(id) returns null for another workspace's customer", async () => {
    const data = await env.data(`query($id: ID!) { customer(id: $id) { id } }`, { id: betaCustomer.id });
    expect(data.customer).toBeNull();
  });

  it("customerByExternalId returns null for another workspace's external id", async () => {
    const data = await env.data(`query($x: String!) { customerByExternalId(externalId: $x) { id } }`, { x: BETA_EXTERNAL_ID });
    expect(data.customerByExternalId).toBeNull();
  });

  it("customerByEmail returns null for another workspace's email", async () => {
    const data = await env.data(`query($e: String!) { customerByEmail(email: $e) { id } }`, { e: BETA_EMAIL });
    expect(data.customerByEmail).toBeNull();
  });

  it("customers lists none of another workspace's customers, whatever the status filter", async () => {
    const data = await env.data<{ customers: { totalCount: number; nodes: { id: string }[] } }>(
      `{ customers(filter: { status: [ACTIVE, ARCHIVED] }) { totalCount nodes { id } } }`,
    );
    expect(data.customers.nodes).toEqual([]);
    expect(data.customers.totalCount).toBe(0);
  });

  it("customers search by another workspace's email finds nothing", async () => {
    const data = await env.data<{ customers: { totalCount: number; nodes: { id: string }[] } }>(
      `query($s: String!) { customers(filter: { search: $s }) { totalCount nodes { id } } }`,
      { s: 'shared' },
    );
    expect(data.customers.nodes.map((n) => n.id)).not.toContain(betaCustomer.id);
  });

  it("node(id) returns null for another workspace's customer and member", async () => {
    const customer = await env.data(`query($id: ID!) { node(id: $id) { id } }`, { id: betaCustomer.id });
    expect(customer.node).toBeNull();
    const member = await env.data(`query($id: ID!) { node(id: $id) { id } }`, { id: betaMemberId });
    expect(member.node).toBeNull();
  });

  it("nodes(ids) returns null in place of another workspace's customer and member", async () => {
    const data = await env.data(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [betaCustomer.id, betaMemberId] });
    expect(data.nodes).toEqual([null, null]);
  });

  it("node(id) returns null for another workspace's audit action", async () => {
    const own = await env.data<{ customer: { actions: { nodes: { id: string }[] } } }>(
      `query($id: ID!) { customer(id: $id) { actions { nodes { id } } } }`,
      { id: betaCustomer.id },
      asBeta(),
    );
    const actionId = own.customer.actions.nodes[0].id;
    expect(actionId).toBeTruthy();
    const data = await env.data(`query($id: ID!) { node(id: $id) { id } }`, { id: actionId });
    expect(data.node).toBeNull();
  });

  it("_entities returns null for another workspace's Customer and Member representations", async () => {
    const data = await env.data(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id email } ... on Member { id email } } }`,
      {
        r: [
          { __typename: 'Customer', id: betaCustomer.id },
          { __typename: 'Member', id: betaMemberId },
        ],
      },
    );
    expect(data._entities).toEqual([null, null]);
  });

  it("customFieldDefinitions does not list another workspace's definitions", async () => {
    const data = await env.data<{ customFieldDefinitions: { key: string }[] }>(`{ customFieldDefinitions { key } }`);
    expect(data.customFieldDefinitions.map((d) => d.key)).not.toContain(BETA_FIELD);
  });

  it("filtering on another workspace's custom field key is BAD_USER_INPUT (the field is unknown here)", async () => {
    const result = await env.exec(
      `query($k: String!) { customers(filter: { customFields: [{ key: $k, value: "gold" }] }) { totalCount } }`,
      { k: BETA_FIELD },
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toContain('unknown custom field');
  });

  it("setting another workspace's custom field on a customer is rejected as unknown", async () => {
    const data = await env.data<{ createCustomer: { customer: unknown; userErrors: { field: string[]; code: string }[] } }>(
      `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } ${USER_ERRORS} } }`,
      { input: { email: 'cf-probe@example.com', customFields: [{ key: BETA_FIELD, value: 'gold' }] } },
    );
    expect(data.createCustomer.customer).toBeNull();
    expect(data.createCustomer.userErrors.length).toBeGreaterThan(0);
  });
});

describe('writes as another workspace', () => {
  const CUSTOMER_PAYLOAD = `customer { id } ${USER_ERRORS}`;

  it("updateCustomer on another workspace's customer is NOT_FOUND and changes nothing", async () => {
    const before = await betaView(betaCustomer.id);
    const data = await env.data<{ updateCustomer: { customer: unknown; userErrors: { field: string[]; code: string }[] } }>(
      `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { ${CUSTOMER_PAYLOAD} } }`,
      { input: { id: betaCustomer.id, firstName: 'Hijacked' } },
    );
    expect(data.updateCustomer.customer).toBeNull();
    expect(data.updateCustomer.userErrors).toEqual([expect.objectContaining({ field: ['id'], code: 'NOT_FOUND' })]);
    const after = await betaView(betaCustomer.id);
    expect(after).toEqual(before);
    expect(after!.firstName).toBe('Bea');
  });

  it("archiveCustomer on another workspace's customer is NOT_FOUND and leaves it ACTIVE", async () => {
    const before = await betaView(betaCustomer.id);
    const data = await env.data<{ archiveCustomer: { customer: unknown; userErrors: { field: string[]; code: string }[] } }>(
      `mutation($input: ArchiveCustomerInput!) { archiveCustomer(input: $input) { ${CUSTOMER_PAYLOAD} } }`,
      { input: { id: betaCustomer.id, reason: 'not yours' } },
    );
    expect(data.archiveCustomer.customer).toBeNull();
    expect(data.archiveCustomer.userErrors).toEqual([expect.objectContaining({ code: 'NOT_FOUND' })]);
    const after = await betaView(betaCustomer.id);
    expect(after!.status).toBe('ACTIVE');
    expect(after!.version).toBe(before!.version);
  });

  it("restoreCustomer on another workspace's archived customer is NOT_FOUND and leaves it ARCHIVED", async () => {
    const archivable = await createCustomer(env, { email: 'archived@example.com' }, asBeta());
    const archived = await env.data<{ archiveCustomer: { customer: { id: string } | null; userErrors: unknown[] } }>(
      `mutation($input: ArchiveCustomerInput!) { archiveCustomer(input: $input) { ${CUSTOMER_PAYLOAD} } }`,
      { input: { id: archivable.id } },
      asBeta(),
    );
    expect(archived.archiveCustomer.userErrors).toEqual([]);
    const before = await betaView(archivable.id);
    expect(before!.status).toBe('ARCHIVED');

    const data = await env.data<{ restoreCustomer: { customer: unknown; userErrors: { field: string[]; code: string }[] } }>(
      `mutation($input: RestoreCustomerInput!) { restoreCustomer(input: $input) { ${CUSTOMER_PAYLOAD} } }`,
      { input: { id: archivable.id } },
    );
    expect(data.restoreCustomer.customer).toBeNull();
    expect(data.restoreCustomer.userErrors).toEqual([expect.objectContaining({ code: 'NOT_FOUND' })]);
    const after = await betaView(archivable.id);
    expect(after!.status).toBe('ARCHIVED');
    expect(after!.version).toBe(before!.version);
  });

  it("addMember to another workspace's customer is NOT_FOUND and adds nobody", async () => {
    const before = await betaView(betaCustomer.id);
    const data = await env.data<{ addMember: { member: unknown; customer: unknown; userErrors: { field: string[]; code: string }[] } }>(
      `mutation($input: AddMemberInput!) { addMember(input: $input) { member { id } customer { id } ${USER_ERRORS} } }`,
      { input: { customerId: betaCustomer.id, email: 'intruder@example.com' } },
    );
    expect(data.addMember.member).toBeNull();
    expect(data.addMember.customer).toBeNull();
    expect(data.addMember.userErrors).toEqual([expect.objectContaining({ field: ['customerId'], code: 'NOT_FOUND' })]);
    const after = await betaView(betaCustomer.id);
    expect(after!.members.totalCount).toBe(before!.members.totalCount);
    expect(after!.version).toBe(before!.version);
  });

  it("updateMember on another workspace's member is NOT_FOUND and changes nothing", async () => {
    const before = await betaView(betaCustomer.id);
    const data = await env.data<{ updateMember: { member: unknown; customer: unknown; userErrors: { field: string[]; code: string }[] } }>(
      `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } customer { id } ${USER_ERRORS} } }`,
      { input: { id: betaMemberId, name: 'Renamed', role: 'OWNER' } },
    );
    expect(data.updateMember.member).toBeNull();
    expect(data.updateMember.customer).toBeNull();
    expect(data.updateMember.userErrors).toEqual([expect.objectContaining({ field: ['id'], code: 'NOT_FOUND' })]);
    const after = await betaView(betaCustomer.id);
    expect(after).toEqual(before);
    expect(after!.members.nodes).toEqual([expect.objectContaining({ id: betaMemberId, name: 'Mem Ber', role: 'MEMBER' })]);
  });

  it("removeMember on another workspace's member is NOT_FOUND and the member stays", async () => {
    const before = await betaView(betaCustomer.id);
    const data = await env.data<{ removeMember: { removedMemberId: string | null; customer: unknown; userErrors: { field: string[]; code: string }[] } }>(
      `mutation($input: RemoveMemberInput!) { removeMember(input: $input) { removedMemberId customer { id } ${USER_ERRORS} } }`,
      { input: { id: betaMemberId } },
    );
    expect(data.removeMember.removedMemberId).toBeNull();
    expect(data.removeMember.customer).toBeNull();
    expect(data.removeMember.userErrors).toEqual([expect.objectContaining({ field: ['id'], code: 'NOT_FOUND' })]);
    const after = await betaView(betaCustomer.id);
    expect(after!.members.nodes.map((m: { id: string }) => m.id)).toEqual([betaMemberId]);
    expect(after!.version).toBe(before!.version);
  });

  it("writes attempted by another workspace leave nothing in the owner's audit log", async () => {
    const data = await env.data<{ customer: { actions: { nodes: { type: string }[] } } }>(
      `query($id: ID!) { customer(id: $id) { actions { nodes { type actor } } } }`,
      { id: betaCustomer.id },
      asBeta(),
    );
    expect(data.customer.actions.nodes.map((a) => a.type).sort()).toEqual(['CUSTOMER_CREATED', 'MEMBER_ADDED']);
  });
});

describe('uniqueness is per workspace', () => {
  it('alpha defines a custom field with the same key as beta, independently', async () => {
    const data = await env.data<{ defineCustomField: { customFieldDefinition: Record<string, any> | null; userErrors: unknown[] } }>(
      `mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) { customFieldDefinition { key label valueType searchable } ${USER_ERRORS} } }`,
      { input: { key: BETA_FIELD, label: 'Alpha score', valueType: 'NUMBER', searchable: false } },
    );
    expect(data.defineCustomField.userErrors).toEqual([]);
    expect(data.defineCustomField.customFieldDefinition).toEqual({ key: BETA_FIELD, label: 'Alpha score', valueType: 'NUMBER', searchable: false });

    const alpha = await env.data<{ customFieldDefinitions: Record<string, any>[] }>(`{ customFieldDefinitions { key label valueType searchable } }`);
    expect(alpha.customFieldDefinitions).toEqual([{ key: BETA_FIELD, label: 'Alpha score', valueType: 'NUMBER', searchable: false }]);
    const beta = await env.data<{ customFieldDefinitions: Record<string, any>[] }>(
      `{ customFieldDefinitions { key label valueType searchable } }`,
      undefined,
      asBeta(),
    );
    expect(beta.customFieldDefinitions).toEqual([{ key: BETA_FIELD, label: 'Beta tier', valueType: 'STRING', searchable: true }]);
  });

  it("alpha creates a customer with the same email and externalId as beta's", async () => {
    const alphaCustomer = await createCustomer(env, { email: BETA_EMAIL.toUpperCase(), externalId: BETA_EXTERNAL_ID, firstName: 'Al' });
    expect(alphaCustomer.id).not.toBe(betaCustomer.id);
    expect(alphaCustomer.email).toBe(BETA_EMAIL);
    expect(alphaCustomer.externalId).toBe(BETA_EXTERNAL_ID);

    const byExternal = await env.data(`query($x: String!) { customerByExternalId(externalId: $x) { id firstName } }`, { x: BETA_EXTERNAL_ID });
    expect(byExternal.customerByExternalId).toEqual({ id: alphaCustomer.id, firstName: 'Al' });
    const byEmailAsBeta = await env.data(`query($e: String!) { customerByEmail(email: $e) { id firstName } }`, { e: BETA_EMAIL }, asBeta());
    expect(byEmailAsBeta.customerByEmail).toEqual({ id: betaCustomer.id, firstName: 'Bea' });
  });

  it("alpha's list now holds only alpha's customer", async () => {
    const data = await env.data<{ customers: { totalCount: number; nodes: { email: string; firstName: string }[] } }>(
      `{ customers(filter: { status: [ACTIVE, ARCHIVED] }) { totalCount nodes { email firstName } } }`,
    );
    expect(data.customers.totalCount).toBe(1);
    expect(data.customers.nodes).toEqual([{ email: BETA_EMAIL, firstName: 'Al' }]);
  });
});
