// The layer order of src/ (`npm run depcheck`, part of `npm test`), top to bottom:
//   entry (index, app, config, cli) > http > graphql > import > services > store > shared.
// A module may import from its own layer and the layers below it, never from a layer above.
const LAYERS = [
  { name: 'entry', path: '^src/(index|app|config)\\.ts$|^src/cli/' },
  { name: 'http', path: '^src/http/' },
  { name: 'graphql', path: '^src/graphql/' },
  { name: 'import', path: '^src/import/' },
  { name: 'services', path: '^src/services/' },
  { name: 'store', path: '^src/store/' },
  { name: 'shared', path: '^src/shared/' },
];

// src/generated is codegen output (`npm run codegen`) read by graphql, import and services. Its
// resolver types name the row and model types they map to (codegen.yml `mappers`) and the context
// type (`contextType`): type-only imports, erased at compile time, so they do not make the
// generated module a layer of its own. It may import those and nothing else.
const GENERATED_MAY_IMPORT = [
  '^src/graphql/context\\.ts$',
  '^src/services/paging\\.ts$',
  '^src/services/export\\.ts$',
  '^src/services/merge-preview\\.ts$',
  '^src/store/records\\.ts$',
  '^src/store/webhook-records\\.ts$',
];

const layerRules = LAYERS.slice(1).map((layer, index) => {
  const above = LAYERS.slice(0, index + 1);
  return {
    name: `${layer.name}-imports-no-layer-above`,
    comment: `src/${layer.name} may not import from ${above.map((l) => l.name).join(', ')}: dependencies point down the layers.`,
    severity: 'error',
    from: { path: layer.path },
    to: { path: above.map((l) => `(${l.path})`).join('|') },
  };
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'shared-imports-nothing-from-src',
      comment: 'src/shared holds leaf modules (errors, ids, logger, lru): they import only each other and packages.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: '^src/', pathNot: '^src/shared/' },
    },
    {
      name: 'migrations-are-frozen',
      comment: 'A migration must mean the same thing forever, so it imports nothing from live code in src/.',
      severity: 'error',
      from: { path: '^src/store/migrations/' },
      to: { path: '^src/', pathNot: '^src/store/migrations/' },
    },
    {
      name: 'generated-imports-only-its-mapped-types',
      comment: 'src/generated names only the mapped row/model types and the context type (see GENERATED_MAY_IMPORT).',
      severity: 'error',
      from: { path: '^src/generated/' },
      to: { path: '^src/', pathNot: ['^src/generated/', ...GENERATED_MAY_IMPORT] },
    },
    {
      name: 'generated-imports-are-type-only',
      comment: 'The generated module may name types from above its readers, never run their code.',
      severity: 'error',
      from: { path: '^src/generated/' },
      to: { path: '^src/', pathNot: '^src/generated/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'only-upper-layers-read-generated',
      comment: 'The generated types describe the GraphQL API: store and shared sit below it.',
      severity: 'error',
      from: { path: '^src/(store|shared)/' },
      to: { path: '^src/generated/' },
    },
    {
      name: 'no-circular',
      comment: 'A cycle makes load order matter and hides which module owns what.',
      severity: 'error',
      from: { path: '^src/' },
      to: {
        circular: true,
        // A cycle through the generated types' type-only imports is erased at compile time.
        viaOnly: { pathNot: '^src/generated/' },
      },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count as dependencies too: a type from a layer above is still a
    // dependency on that layer.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.build.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
