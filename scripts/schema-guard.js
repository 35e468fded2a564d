#!/usr/bin/env node
// Breaking-change guard: compares the subgraph SDL built from schema/*.graphql with the last
// released SDL committed in schema-release/subgraph.graphql (graphql-inspector's diff), prints every
// change, and exits 1 when one is BREAKING for clients. After a deliberate breaking release, run
// `npm run schema:release` to take a new snapshot (and say so in the commit).
//
// The snapshot lives outside schema/ on purpose: the server loads every schema/*.graphql and
// codegen globs schema/**, so a copy inside would be served (and clash) as part of the schema.
// Both sides are built with @apollo/subgraph's buildSubgraphSchema, which understands the
// `@link`ed federation directives (@key, @shareable, ...) and adds the same federation types
// (_Service, _Entity, _Any) to each, so they never show up as changes.
//
// Usage: node scripts/schema-guard.js [--release] [--schema DIR] [--snapshot FILE]
const fs = require('node:fs');
const path = require('node:path');
const { parse } = require('graphql');
const { buildSubgraphSchema, printSubgraphSchema } = require('@apollo/subgraph');
const { diff, CriticalityLevel } = require('@graphql-inspector/core');

const root = path.resolve(__dirname, '..');

/** The SDL files of a schema folder as one document text, base.graphql first (as src/graphql/server.ts loads them). */
function readSchemaDir(dir) {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort((a, b) => (a === 'base.graphql' ? -1 : b === 'base.graphql' ? 1 : a.localeCompare(b)));
  if (files.length === 0) throw new Error(`no .graphql files in ${dir}`);
  return files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
}

function buildSdl(sdl, source) {
  try {
    return buildSubgraphSchema(parse(sdl, { noLocation: true }));
  } catch (error) {
    throw new Error(`${source} is not a valid subgraph schema: ${error.message}`);
  }
}

/** The subgraph SDL as released: federation's own printer, so it is what `_service { sdl }` describes. */
function printReleaseSdl(schemaDir) {
  return printSubgraphSchema(buildSdl(readSchemaDir(schemaDir), schemaDir)) + '\n';
}

/** Changes from the snapshot to the current schema, each with its criticality (BREAKING, DANGEROUS, NON_BREAKING). */
async function compare(releasedSdl, currentSdl) {
  const changes = await diff(buildSdl(releasedSdl, 'the released snapshot'), buildSdl(currentSdl, 'schema/'));
  return changes.map((change) => ({ level: change.criticality.level, path: change.path ?? '', message: change.message, reason: change.criticality.reason ?? '' }));
}

function parseArgs(argv) {
  const options = { release: false, schema: path.join(root, 'schema'), snapshot: path.join(root, 'schema-release', 'subgraph.graphql') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--release') options.release = true;
    else if (argv[i] === '--schema') options.schema = path.resolve(argv[++i]);
    else if (argv[i] === '--snapshot') options.snapshot = path.resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}; expected --release, --schema DIR or --snapshot FILE`);
  }
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const current = printReleaseSdl(options.schema);
  if (options.release) {
    fs.mkdirSync(path.dirname(options.snapshot), { recursive: true });
    fs.writeFileSync(options.snapshot, current);
    console.log(`wrote the released schema snapshot ${path.relative(process.cwd(), options.snapshot)}`);
    return 0;
  }
  if (!fs.existsSync(options.snapshot)) {
    console.error(`no released schema snapshot at ${options.snapshot}: run \`npm run schema:release\` once and commit it`);
    return 1;
  }
  const changes = await compare(fs.readFileSync(options.snapshot, 'utf8'), current);
  const breaking = changes.filter((c) => c.level === CriticalityLevel.Breaking);
  for (const c of changes) {
    const why = c.reason && c.reason !== c.message && c.level !== CriticalityLevel.NonBreaking ? ` (${c.reason})` : '';
    console.log(`${c.level.padEnd(12)} ${c.message}${why}`);
  }
  if (breaking.length > 0) {
    console.error(
      `\n${breaking.length} breaking change(s) against the released schema (schema-release/subgraph.graphql).\n` +
        'Clients built against the released schema would fail. Make the change additive (add a field, deprecate the old one),\n' +
        'or, for a deliberate breaking release, run `npm run schema:release` and commit the new snapshot.',
    );
    return 1;
  }
  console.log(changes.length === 0 ? 'schema/ matches the released schema' : `schema/ is compatible with the released schema: ${changes.length} change(s), none breaking`);
  return 0;
}

module.exports = { compare, printReleaseSdl, readSchemaDir };

if (require.main === module) {
  // exitCode, not exit(): the report can outgrow a pipe's buffer, and exit() drops what is still queued.
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      console.error(error.message);
      process.exitCode = 2;
    },
  );
}
