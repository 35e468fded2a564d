/**
 * The requested cost, the requested nodes and the actual-cost walk are remembered per document
 * and variables signature (src/graphql/limits/memo.ts). The same query text with other variables must
 * give the figures it would give on its own: these run one document many times, in an order
 * where a memo keyed too coarsely would answer with an earlier request's figure.
 */
import fc from 'fast-check';
import { buildSchema, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { Kind, getOperationAST, visit } from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import { resultWalk } from '../src/graphql/limits/cost';
import { DocumentMemo, MAX_SIGNATURE_CHARS, SIGNATURES_PER_DOCUMENT, variablesSignature } from '../src/graphql/limits/memo';
import { NO_COST_LIMIT, createCustomer, createTestEnv, type Result, type TestEnv } from './helpers';

let env: TestEnv;
let ids: string[];

beforeAll(async () => {
  env = await createTestEnv();
  ids = [];
  for (const email of ['a@memo.example', 'b@memo.example', 'c@memo.example']) ids.push((await createCustomer(env, { email })).id);
});

afterAll(async () => {
  await env.close();
});

type Cost = { requestedQueryCost: number; actualQueryCost: number | null };
const costOf = (result: Result<unknown>) => result.extensions?.cost as Cost;
const MISSING = '00000000-0000-4000-8000-000000000000';

describe('one document, many variables', () => {
  it('page sizes from variables: each request is costed and counted with its own', async () => {
    const query = 'query Page($n: Int) { customers(first: $n) { nodes { id members(first: 10) { nodes { id } } } } }';
    for (const n of [5, 50, 5, 1, 50]) {
      const result = await env.exec(query, { n });
      expect(result.errors).toBeUndefined();
      expect(costOf(result)).toEqual(expect.objectContaining({ requestedQueryCost: 2 + n * 13, actualQueryCost: 2 + Math.min(n, 3) * 3 }));
    }
    // Absent: the default page size of 20.
    expect(costOf(await env.exec(query, {})).requestedQueryCost).toBe(2 + 20 * 13);
    // Over the node limit with one value, under it with another, same text (5 + 5 x 5 = 30 nodes).
    const tight = await createTestEnv({ ...NO_COST_LIMIT, limits: { maxRequestedNodes: 30 } });
    try {
      const nested = 'query($a: Int, $b: Int) { customers(first: $a) { nodes { actions(first: $b) { nodes { id } } } } }';
      const limitOf = (result: Result<unknown>) => result.errors?.[0]?.extensions?.limit;
      expect(limitOf(await tight.exec(nested, { a: 5, b: 6 }))).toBe('requestedNodes');
      expect((await tight.exec(nested, { a: 5, b: 5 })).errors).toBeUndefined();
      expect(limitOf(await tight.exec(nested, { a: 5, b: 6 }))).toBe('requestedNodes');
    } finally {
      await tight.close();
    }
  });

  it('ids: the count matters, not the ids; the actual cost follows what came back', async () => {
    const query = 'query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Customer { billingAddress { city } } } }';
    const first = await env.exec(query, { ids: [ids[0], ids[1]] });
    expect(costOf(first)).toEqual(expect.objectContaining({ requestedQueryCost: 2 * 2 }));
    const other = await env.exec(query, { ids: [ids[2], MISSING] });
    expect(costOf(other).requestedQueryCost).toBe(2 * 2);
    expect(costOf(await env.exec(query, { ids: [ids[0], ids[1], ids[2]] })).requestedQueryCost).toBe(3 * 2);
    expect(costOf(await env.exec(query, { ids: [] })).requestedQueryCost).toBe(0);
  });

  it('@skip and @include from variables', async () => {
    const query = 'query($id: ID!, $skip: Boolean!) { customer(id: $id) { id members(first: 10) @skip(if: $skip) { nodes { id } } } }';
    expect(costOf(await env.exec(query, { id: ids[0], skip: true }))).toEqual(expect.objectContaining({ requestedQueryCost: 1, actualQueryCost: 1 }));
    expect(costOf(await env.exec(query, { id: ids[0], skip: false }))).toEqual(expect.objectContaining({ requestedQueryCost: 13, actualQueryCost: 1 + 2 }));
    expect(costOf(await env.exec(query, { id: ids[1], skip: true }))).toEqual(expect.objectContaining({ requestedQueryCost: 1, actualQueryCost: 1 }));
  });

  it('variables that do not coerce are costed as before (nothing), then valid ones are costed again', async () => {
    const query = 'query($n: Int) { customers(first: $n) { nodes { id } } }';
    const bad = await env.exec(query, { n: 'ten' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(costOf(bad).requestedQueryCost).toBe(0);
    expect(costOf(await env.exec(query, { n: 4 })).requestedQueryCost).toBe(2 + 4);
    expect(costOf(await env.exec(query, { n: 'ten' })).requestedQueryCost).toBe(0);
  });
});

describe('variablesSignature', () => {
  const schema = buildSchema(`
    type Query { item(id: ID!, first: Int = 3): Item, named(name: String! = "z"): Item, items(ids: [ID!]!): [Item], page(first: Int, filter: Filter): [Item] }
    input Filter { search: String }
    type Item { id: ID! }`);

  it('keeps page sizes and directive values, only the length of ids, only the presence of other values', () => {
    const document = parse('query($id: ID!, $ids: [ID!]!, $n: Int, $s: String, $x: Boolean!) { item(id: $id) { id @include(if: $x) } items(ids: $ids) { id } page(first: $n, filter: { search: $s }) { id } }');
    const sign = (variables: Record<string, unknown>) => variablesSignature(schema, document, null, variables);
    const base = { id: 'a', ids: ['a', 'b'], n: 5, s: 'x', x: true };
    expect(sign({ ...base, id: 'b', ids: ['c', 'd'] })).toBe(sign(base));
    expect(sign({ ...base, ids: ['a'] })).not.toBe(sign(base));
    expect(sign({ ...base, n: 6 })).not.toBe(sign(base));
    expect(sign({ ...base, n: null })).not.toBe(sign(base));
    expect(sign({ ...base, x: false })).not.toBe(sign(base));
    // Inside an object literal: read in full.
    expect(sign({ ...base, s: 'y' })).not.toBe(sign(base));
  });

  it('has none for variables that do not coerce or an operation that cannot be picked', () => {
    const document = parse('query A($n: Int) { page(first: $n) { id } } query B { page { id } }');
    expect(variablesSignature(schema, document, null, {})).toBeNull();
    expect(variablesSignature(schema, document, 'A', { n: 'x' })).toBeNull();
    expect(variablesSignature(schema, document, 'A', { n: 1 })).not.toBe(variablesSignature(schema, document, 'B', {}));
  });

  it('tells an absent value from a null one where an argument has a default', () => {
    const document = parse('query($name: String) { named(name: $name) { id } }');
    const sign = (variables: Record<string, unknown>) => variablesSignature(schema, document, null, variables);
    expect(sign({})).not.toBe(sign({ name: null }));
    expect(sign({ name: 'a' })).not.toBe(sign({ name: null }));
    expect(sign({ name: 'a' })).toBe(sign({ name: 'b' }));
  });

  /**
   * The signature as it was computed before per-document plans: graphql's getVariableValues
   * on every call, then the same parts. The plan must agree with it on any input.
   */
  function referenceSignature(schema: GraphQLSchema, document: DocumentNode, operationName: string | null, variables: Record<string, unknown>): string | null {
    const operation = getOperationAST(document, operationName ?? undefined);
    if (!operation) return null;
    const definitions = operation.variableDefinitions ?? [];
    const prefix = `${operationName ?? ''}\u0000`;
    if (definitions.length === 0) return prefix;
    const coerced = getVariableValues(schema, definitions, variables, { maxErrors: 1 });
    if (coerced.errors) return null;
    const uses = new Map<string, number>();
    let inDirective = 0;
    visit(document, {
      VariableDefinition: () => false,
      Directive: { enter: () => void inDirective++, leave: () => void inDirective-- },
      Argument(argument) {
        const note = (name: string, use: number) => uses.set(name, Math.max(uses.get(name) ?? 0, use));
        if (argument.value.kind !== Kind.VARIABLE) {
          visit(argument.value, { Variable: (variable) => void note(variable.name.value, 2) });
          return false;
        }
        const name = argument.name.value;
        note(argument.value.name.value, inDirective > 0 || name === 'first' || name === 'last' ? 2 : name === 'ids' || name === 'representations' ? 1 : 0);
        return false;
      },
    });
    const parts: string[] = [];
    for (const definition of definitions) {
      const name = definition.variable.name.value;
      const value = coerced.coerced[name];
      const use = uses.get(name) ?? 0;
      if (!Object.hasOwn(coerced.coerced, name)) parts.push('u');
      else if (value === null) parts.push('n');
      else if (use === 0) parts.push('p');
      else if (use === 1 && Array.isArray(value)) parts.push(`#${value.length}`);
      else parts.push(`=${JSON.stringify(value)}`);
    }
    return prefix + parts.join('\u0000');
  }

  it('agrees with graphql getVariableValues on arbitrary variables, absent, null, wrong or defaulted', () => {
    const document = parse(`
      query Q($id: ID!, $ids: [ID!]!, $n: Int, $s: String, $x: Boolean!, $f: Filter, $d: Int = 7, $e: String! = "e", $z: Int = null, $l: [Int]) {
        item(id: $id, first: $d) { id @include(if: $x) }
        items(ids: $ids) { id }
        page(first: $n, filter: { search: $s }) { id }
        other: page(first: $z, filter: $f) { id }
        named(name: $e) { id }
        more: items(ids: $l) { id }
      }
      query R { page { id } }`);
    const scalar = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double(), fc.string({ maxLength: 3 }), fc.boolean(), fc.constant(null), fc.constant(2 ** 40));
    const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.record({ search: scalar }, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 2 }), scalar, { maxKeys: 2 }));
    const names = ['id', 'ids', 'n', 's', 'x', 'f', 'd', 'e', 'z', 'l', 'unused'];
    const anything = fc.dictionary(fc.constantFrom(...names), value, { maxKeys: 4 });
    // Half start from valid required variables, so many runs coerce and get a signature.
    const variables = fc.oneof(anything, anything.map((more) => ({ id: 'a', ids: ['b', 'c'], x: false, ...more })));
    const operationName = fc.constantFrom<string | null>(null, 'Q', 'Q', 'Q', 'R', 'S', '');
    let signed = 0;
    fc.assert(
      fc.property(variables, operationName, (given, name) => {
        const expected = referenceSignature(schema, document, name, given);
        expect(variablesSignature(schema, document, name, given)).toBe(expected);
        if (expected !== null && name === 'Q') signed++;
      }),
      // A fixed seed: the same inputs every run, so the coverage check below cannot flake.
      { numRuns: 2000, seed: 20261123 },
    );
    expect(signed).toBeGreaterThan(50);
    // And the inputs reached both kinds of answer.
    const valid = { id: 'a', ids: ['b'], x: true };
    expect(variablesSignature(schema, document, 'Q', valid)).toBe(referenceSignature(schema, document, 'Q', valid));
    expect(variablesSignature(schema, document, 'Q', valid)).not.toBeNull();
    expect(variablesSignature(schema, document, 'Q', { ...valid, n: 'x' })).toBeNull();
  });
});

describe('memory held across requests', () => {
  const schema = buildSchema(`
    type Query { page(first: Int, filter: Filter, name: String): [Item] }
    input Filter { search: String }
    type Item { id: ID! }`);
  const big = (i: number) => `${i}:`.padEnd(900 * 1024, 'x');

  it('the memo keeps a bounded number of characters per document, however large the variables', () => {
    const document = parse('query($s: String, $b: Boolean!) { page(first: 5, filter: { search: $s }) { id @include(if: $b) } }');
    const memo = new DocumentMemo<number>();
    const seen = new Set<string | null>();
    for (let i = 0; i < 2 * SIGNATURES_PER_DOCUMENT; i++) {
      const signature = variablesSignature(schema, document, null, { s: big(i), b: true });
      seen.add(signature);
      memo.get(document, signature, () => i);
    }
    // Distinct values still get distinct signatures, so the analyses stay exact.
    expect(seen.size).toBe(2 * SIGNATURES_PER_DOCUMENT);
    expect(memo.keyChars(document)).toBeLessThanOrEqual(SIGNATURES_PER_DOCUMENT * MAX_SIGNATURE_CHARS);
  });

  it('a remembered result walk keeps only the @skip/@include variables', () => {
    const document = parse('query($s: String, $n: String, $b: Boolean!) { page(filter: { search: $s }, name: $n) { id @include(if: $b) } }');
    const operation = getOperationAST(document);
    if (!operation) throw new Error('expected one operation');
    const walk = resultWalk({ schema, document, operation, variables: { s: big(1), n: big(2), b: false } });
    expect(walk?.walk.variables).toEqual({ b: false });
  });
});
