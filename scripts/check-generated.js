#!/usr/bin/env node
// Fails when src/generated differs from what codegen makes from schema/ now, so the committed
// resolver types can never drift from the SDL. Generates into a temp copy and compares.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const target = path.join(root, 'src/generated/graphql.ts');
const before = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : null;
execFileSync(process.execPath, [path.join(root, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', 'codegen.yml', '--silent'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});
const after = fs.readFileSync(target, 'utf8');
if (before !== after) {
  console.error('src/generated/graphql.ts was stale: it has been regenerated from schema/. Commit the new version.');
  process.exit(1);
}
console.log('generated types are up to date with schema/');
