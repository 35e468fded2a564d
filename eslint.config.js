// Schema conventions: graphql-eslint's `schema-recommended` and `relay` rule sets over schema/*.graphql
// (`npm run lint`, part of `npm test`). The plugin sees `@link(url: "https://specs.apollo.dev/federation/...")`
// in base.graphql and builds the schema with @apollo/subgraph's buildSubgraphSchema, so @key, @shareable
// and the federation types resolve like any other.
// The options below are the few places where the rule sets' defaults contradict the API contract
// (DESIGN.md) or the house style; each says why. Everything else runs as the rule sets ship it.
const graphqlPlugin = require('@graphql-eslint/eslint-plugin');
const tseslint = require('typescript-eslint');

const TS_FILES = ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'];

module.exports = [
  { ignores: ['dist/**', 'node_modules/**', 'src/generated/**', 'coverage/**'] },
  {
    files: ['schema/*.graphql'],
    languageOptions: {
      parser: graphqlPlugin.parser,
      parserOptions: { graphQLConfig: { schema: 'schema/*.graphql' } },
    },
    plugins: { '@graphql-eslint': graphqlPlugin },
    rules: {
      ...graphqlPlugin.configs['flat/schema-recommended'].rules,
      ...graphqlPlugin.configs['flat/schema-relay'].rules,
      // One consistent style is the point of the rule. The schema's descriptions are one-liners,
      // which read best inline ("..."); block strings ("""...""") would double every file's length.
      '@graphql-eslint/description-style': ['error', { style: 'inline' }],
      // Beyond the recommended types and root fields: every field and argument shows its
      // description in the explorer's docs, so none may be left without one.
      '@graphql-eslint/require-description': [
        'error',
        { types: true, rootField: true, DirectiveDefinition: true, FieldDefinition: true },
      ],
      // Objects that are identified by their parent, not by an id of their own: Relay's connection,
      // edge and PageInfo types, mutation payloads, errors, embedded values (address, profile, socials),
      // a custom field's value, and custom field definitions (identified by their `key`, unique per workspace).
      '@graphql-eslint/strict-id-in-types': [
        'error',
        {
          acceptedIdNames: ['id'],
          acceptedIdTypes: ['ID'],
          exceptions: {
            suffixes: ['Connection', 'Edge', 'Payload'],
            types: ['PageInfo', 'UserError', 'Address', 'CustomerProfile', 'Socials', 'CustomFieldValue', 'CustomFieldDefinition', 'MergeConflict', 'CustomerMergePreview'],
          },
        },
      ],
      // DESIGN.md: connections also carry `nodes` (a list of the nodes, next to `edges`) and payloads
      // carry `userErrors: [UserError!]!`, so lists of non-edge types are part of the contract.
      // Edge types must still be named *Edge and their `node` must implement Node.
      '@graphql-eslint/relay-edge-types': ['error', { withEdgeSuffix: true, shouldImplementNode: true, listTypeCanWrapOnlyEdgeType: false }],
      // `exportCustomers` (a change feed in commit order) and the nested `members` / `actions` pages are
      // forward-only by design; `customers` offers both directions. Each paged field must still have a
      // complete forward (first/after) or backward (last/before) pair.
      '@graphql-eslint/relay-arguments': ['error', { includeBoth: false }],
    },
  },
  // TypeScript: typescript-eslint's type-checked recommended set over the code, the tests, the
  // benchmarks and the scripts, with types from tsconfig.json through the project service.
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: TS_FILES })),
  {
    files: TS_FILES,
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: __dirname },
    },
    // A disable comment that no longer suppresses anything is an error, so none outlives its reason.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Apollo's plugin hooks, Kysely's MigrationProvider and async iterables are declared to return
      // promises; `async` is how an implementation meets that without wrapping each value by hand.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore marks a binding the syntax needs but the code does not read
      // (`for (const _ of text)` counts code points; a destructured-away field).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Passing a caught value on unchanged (typed `unknown`) keeps whatever was thrown; rejecting
      // with a literal or an object of our own is still an error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests and benchmarks read GraphQL responses as parsed JSON (`body.data.customer.email`):
      // the assertions are what check their shape, and typing every response by hand would copy
      // the schema into each file. src/ keeps these rules.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
];
