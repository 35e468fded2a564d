/**
 * `npm run schema:print [-- FILE]`: writes the subgraph SDL (exactly what `_service { sdl }`
 * answers) for rover and router pipelines, so they need neither a running server nor a key.
 * FILE defaults to dist/schema.subgraph.graphql (a build output, never committed); `-` prints
 * to stdout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { subgraphSdl } from '../graphql/federation';
import { buildSchema, schemaDir } from '../graphql/server';

export const DEFAULT_SDL_FILE = path.join('dist', 'schema.subgraph.graphql');

/** Writes the SDL to `target` (relative paths from the package root) and returns the path. */
export function printSchemaTo(target: string = DEFAULT_SDL_FILE): string {
  const sdl = subgraphSdl(buildSchema());
  if (target === '-') {
    process.stdout.write(sdl.endsWith('\n') ? sdl : `${sdl}\n`);
    return target;
  }
  const file = path.resolve(path.dirname(schemaDir()), target);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, sdl.endsWith('\n') ? sdl : `${sdl}\n`);
  return file;
}

if (require.main === module) {
  const [target, ...extra] = process.argv.slice(2);
  if (extra.length > 0) {
    process.stderr.write(`usage: schema:print [FILE | -] (got ${process.argv.slice(2).length} arguments)\n`);
    process.exit(1);
  }
  const written = printSchemaTo(target);
  if (written !== '-') process.stderr.write(`wrote the subgraph SDL to ${written}\n`);
}
