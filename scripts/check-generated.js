#!/usr/bin/env node
// Fails when any codegen output (every target under `generates:` in codegen.yml: the server's resolver
// types in src/generated/ and the typed client example's documents in examples/*/src/gql/) differs from
// what codegen makes from schema/ and the example's operations now, so committed types can never drift
// from the SDL. Regenerates in place and compares every file, including files added or removed.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** The output paths under `generates:` (two-space-indented keys); codegen.yml is small and regular. */
function generatedTargets() {
  const text = fs.readFileSync(path.join(root, 'codegen.yml'), 'utf8');
  const section = text.slice(text.indexOf('\ngenerates:'));
  const targets = [...section.matchAll(/^ {2}([^\s#][^:]*):\s*$/gm)].map((m) => m[1].replace(/^["']|["']$/g, ''));
  if (targets.length === 0) throw new Error('codegen.yml: found no targets under `generates:`');
  return targets;
}

/** Relative path -> content of every file of a target (a file, or a folder read recursively). */
function contents(target) {
  const absolute = path.join(root, target);
  const files = new Map();
  if (!fs.existsSync(absolute)) return files;
  if (fs.statSync(absolute).isFile()) return files.set(target, fs.readFileSync(absolute, 'utf8'));
  for (const entry of fs.readdirSync(absolute, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    files.set(path.relative(root, file), fs.readFileSync(file, 'utf8'));
  }
  return files;
}

function snapshot(targets) {
  return new Map(targets.flatMap((target) => [...contents(target)]));
}

const targets = generatedTargets();
const before = snapshot(targets);
execFileSync(process.execPath, [path.join(root, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', 'codegen.yml', '--silent'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});
const after = snapshot(targets);
const stale = [...new Set([...before.keys(), ...after.keys()])].filter((file) => before.get(file) !== after.get(file)).sort();
if (stale.length > 0) {
  console.error(`generated code was stale and has been regenerated from schema/ and the example's operations:\n  ${stale.join('\n  ')}\nCommit the new version.`);
  process.exit(1);
}
console.log(`generated code is up to date (${targets.join(', ')})`);
