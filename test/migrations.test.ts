/**
 * Migrations are frozen: a released migration must create the same schema forever, so it may
 * not import live code (a helper changed later would silently change what it creates).
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const folder = path.join(__dirname, '../src/store/migrations');
const migrationFiles = fs.readdirSync(folder).filter((name) => /^\d{3}_.*\.ts$/.test(name));

test('there are migrations to check', () => {
  expect(migrationFiles.length).toBeGreaterThanOrEqual(3);
});

test.each(migrationFiles)('%s imports nothing but kysely', (name) => {
  const text = fs.readFileSync(path.join(folder, name), 'utf8');
  const imported = ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
  expect(imported.filter((specifier) => specifier !== 'kysely')).toEqual([]);
});
