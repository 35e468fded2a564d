/**
 * The SDL's @authenticated / @requiresScopes rules as the subgraph reads them
 * (src/graphql/scopes.ts): every root field carries one, and an operation is checked through
 * its fragments and inline fragments.
 */
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { buildSchema } from '../src/graphql/server';
import { fieldRules, scopeCheck } from '../src/graphql/scopes';
import { ALL_KEY_SCOPES, effectiveScopes } from '../src/services/scopes';

const schema = buildSchema();
const rules = fieldRules(schema);

function check(query: string, scopes: Iterable<string>): string[] {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation) throw new Error('no operation');
  return scopeCheck(schema)(document, operation, effectiveScopes(scopes)).map((rule) => rule.coordinate);
}

describe('scope rules read from the SDL', () => {
  test('every root field of Query and Mutation has a rule, federation fields included', () => {
    const roots = [schema.getQueryType(), schema.getMutationType()].flatMap((type) => Object.keys(type?.getFields() ?? {}).map((f) => `${type?.name}.${f}`));
    const unguarded = roots.filter((c) => !rules.has(c) && c !== 'Query._service');
    expect(unguarded).toEqual([]);
    expect(rules.get('Query._entities')).toEqual(rules.get('Query.node'));
  });

  test('the sensitive customer fields need a staff or export scope', () => {
    for (const field of ['internalNote', 'netRevenue', 'actions']) {
      expect(rules.get(`Customer.${field}`)).toEqual([['customers:read'], ['customers:write'], ['export:read']]);
    }
  });

  test('a read-only key may read but not write; write implies read', () => {
    expect(check('{ customers(first: 1) { nodes { id } } }', ['customers:read'])).toEqual([]);
    expect(check('mutation { createCustomer(input: {}) { userErrors { code } } }', ['customers:read'])).toEqual(['Mutation.createCustomer']);
    expect(check('{ customers(first: 1) { nodes { id internalNote } } }', ['customers:write'])).toEqual([]);
  });

  test('fields reached through named and inline fragments are checked', () => {
    const query = 'query { node(id: "x") { ... on Customer { ...F } } } fragment F on Customer { netRevenue actions(first: 1) { nodes { id } } }';
    expect(check(query, ['customer:self']).sort()).toEqual(['Customer.actions', 'Customer.netRevenue']);
    expect(check(query, ['export:read']).sort()).toEqual(['Query.node']);
  });

  test('an export-only key can export but cannot page customers', () => {
    expect(check('{ exportCustomers(first: 1) { nodes { id internalNote } } }', ['export:read'])).toEqual([]);
    expect(check('{ customers(first: 1) { nodes { id } } }', ['export:read'])).toEqual(['Query.customers']);
  });

  test('a key with every scope passes everything but the self-service fields', () => {
    expect(check('{ me { id } }', ALL_KEY_SCOPES)).toEqual(['Query.me']);
    expect(check('{ workspace { name } customFieldDefinitions { key } }', ALL_KEY_SCOPES)).toEqual([]);
    expect(check('{ workspace { name } }', [])).toEqual([]);
  });
});
