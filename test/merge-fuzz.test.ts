/**
 * Property-based fuzzing (fast-check) of create, update, merge and erase sequences through the
 * real Apollo pipeline on a real migrated database, against a model of what each should do.
 * Every step must succeed exactly when the model says it may. After each sequence the
 * invariants are checked: every lookup of every id (customer, customerByExternalId, node)
 * answers the customer the model resolves it to, never a MERGED tombstone and never an erased
 * person's data; and no value an erased person ever had is left in any table. Replay a failure
 * with FUZZ_SEED=<seed> (and FUZZ_PATH); FUZZ_RUNS sets the number of sequences.
 */
import fc from 'fast-check';
import { sql } from 'kysely';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { createTestEnv, type TestEnv } from './helpers';

jest.setTimeout(180_000);

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const PATH = process.env.FUZZ_PATH;

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env?.close();
});

type Command =
  | { kind: 'create'; withNote: boolean }
  | { kind: 'update'; target: number }
  | { kind: 'merge'; survivor: number; merged: number }
  | { kind: 'erase'; target: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), withNote: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('update' as const), target: fc.nat(20) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('merge' as const), survivor: fc.nat(20), merged: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('erase' as const), target: fc.nat(20) }) },
);

interface Modelled {
  id: string;
  email: string;
  externalId: string;
  firstName: string;
  note: string | null;
  status: 'ACTIVE' | 'ERASED' | 'MERGED';
  mergedInto: string | null;
  /** Every value this person's data ever held (their own and those merged into them). */
  values: Set<string>;
}

let run = 0;

async function runSequence(commands: Command[]): Promise<void> {
  const tag = `r${++run}`;
  const key: IssuedKey = await issueKey(env.store.db, { workspace: `fuzz-${tag}`, rateLimited: false });
  const as = { key };
  const people: Modelled[] = [];
  const byId = new Map<string, Modelled>();
  let counter = 0;
  const token = () => `${tag}q${++counter}z`;

  for (const step of commands) {
    if (step.kind === 'create') {
      const [first, note, mail, ext] = [token(), token(), token(), token()];
      const input = { email: `${mail}@fuzz.example`, externalId: ext, firstName: first, ...(step.withNote ? { internalNote: note } : {}) };
      const result = await env.data<{ createCustomer: { customer: { id: string } | null; userErrors: unknown[] } }>(
        `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { code } } }`, { input }, as,
      );
      expect(result.createCustomer.userErrors).toEqual([]);
      const person: Modelled = {
        id: result.createCustomer.customer!.id, email: input.email, externalId: ext, firstName: first, note: step.withNote ? note : null,
        status: 'ACTIVE', mergedInto: null, values: new Set([input.email, ext, first, ...(step.withNote ? [note] : [])]),
      };
      people.push(person);
      byId.set(person.id, person);
      continue;
    }
    if (people.length === 0) continue;
    if (step.kind === 'update') {
      const target = people[step.target % people.length];
      const first = token();
      const result = await env.data<{ updateCustomer: { userErrors: { code: string }[] } }>(
        `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { userErrors { code } } }`, { input: { id: target.id, firstName: first } }, as,
      );
      const allowed = target.status === 'ACTIVE';
      expect(result.updateCustomer.userErrors.map((e) => e.code)).toEqual(allowed ? [] : [target.status]);
      if (allowed) {
        target.firstName = first;
        target.values.add(first);
      }
    } else if (step.kind === 'merge') {
      const survivor = people[step.survivor % people.length];
      const merged = people[step.merged % people.length];
      const result = await env.data<{ mergeCustomers: { userErrors: { code: string }[] } }>(
        `mutation($input: MergeCustomersInput!) { mergeCustomers(input: $input) { userErrors { code } } }`, { input: { survivorId: survivor.id, mergedId: merged.id } }, as,
      );
      const allowed = survivor !== merged && survivor.status === 'ACTIVE' && merged.status === 'ACTIVE';
      expect({ step, codes: result.mergeCustomers.userErrors.length === 0 }).toEqual({ step, codes: allowed });
      if (allowed) {
        survivor.note ??= merged.note;
        for (const value of merged.values) survivor.values.add(value);
        merged.status = 'MERGED';
        merged.mergedInto = survivor.id;
        for (const other of people) if (other.mergedInto === merged.id) other.mergedInto = survivor.id;
      }
    } else {
      const target = people[step.target % people.length];
      const result = await env.data<{ eraseCustomer: { userErrors: { code: string }[] } }>(
        `mutation($input: EraseCustomerInput!) { eraseCustomer(input: $input) { userErrors { code } } }`, { input: { id: target.id } }, as,
      );
      const expected = target.status === 'ACTIVE' ? [] : [target.status === 'ERASED' ? 'ALREADY_ERASED' : 'MERGED'];
      expect(result.eraseCustomer.userErrors.map((e) => e.code)).toEqual(expected);
      if (target.status === 'ACTIVE') {
        target.status = 'ERASED';
        for (const other of people) if (other.mergedInto === target.id) other.status = 'ERASED';
      }
    }
  }

  // Every lookup answers the customer the model resolves to: never a MERGED tombstone, never an erased person's data.
  for (const person of people) {
    const answerId = person.mergedInto ?? person.id;
    const answer = byId.get(answerId)!;
    const read = await env.data<Record<string, { id: string; status: string; email: string; firstName: string | null; internalNote: string | null } | null>>(
      `query($id: ID!, $ext: String!) {
        byId: customer(id: $id) { id status email firstName internalNote }
        byExternalId: customerByExternalId(externalId: $ext) { id status email firstName internalNote }
        node(id: $id) { ... on Customer { id status email firstName internalNote } }
      }`,
      { id: person.id, ext: person.externalId },
      as,
    );
    const expected = answer.status === 'ERASED'
      ? { id: answerId, status: 'ERASED', email: '', firstName: null, internalNote: null }
      : { id: answerId, status: 'ACTIVE', email: answer.email, firstName: answer.firstName, internalNote: answer.note };
    for (const found of Object.values(read)) expect({ person: person.id, found }).toEqual({ person: person.id, found: expected });
  }

  // No value an erased person ever held is left in any table (audit log and idempotency store
  // included), except the externalId the tombstone keeps by design.
  const externalIds = new Set(people.map((p) => p.externalId));
  const erasedValues = people.filter((p) => p.status === 'ERASED').flatMap((p) => [...p.values]);
  if (erasedValues.length === 0) return;
  const tables = ['customers', 'members', 'actions', 'custom_field_values', 'idempotency_keys', 'erased_identities'] as const;
  for (const table of tables) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)} where workspace_id = ${key.workspace.id}`.execute(env.store.db);
    const text = JSON.stringify(rows.rows);
    for (const value of erasedValues) {
      if (table === 'customers' && externalIds.has(value)) continue;
      expect({ table, value, present: text.includes(value) }).toEqual({ table, value, present: false });
    }
  }
}

test('create, update, merge and erase sequences keep lookups on the survivor and leave no erased value behind', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 14 }), (commands) => runSequence(commands)),
    { numRuns: RUNS, seed: SEED, path: PATH, endOnFailure: true },
  );
});
