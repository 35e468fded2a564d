/**
 * Hot, fixed-shape queries built and compiled by Kysely once per database handle, then run
 * with new parameters. Kysely otherwise rebuilds and recompiles the query tree on every call,
 * which costs more than SQLite needs to answer an indexed lookup. Only for queries whose SQL
 * text never depends on the values (no optional clauses; an IN list needs one compiled query
 * per list length, each value its own argument).
 */
import { CompiledQuery, type Compilable, type Kysely } from 'kysely';

/** Stand-ins for the arguments while compiling; recognised again among the parameters. */
const placeholder = (index: number) => `\u0000compiled-once-argument-${index}`;

interface Template {
  sql: string;
  /** For each parameter: the argument it came from, or a constant the builder put there. */
  parameters: ({ argument: number } | { constant: unknown })[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a compiled query serves any Kysely instance, whatever its table types
type AnyKysely = Kysely<any>;

export function compiledOnce<Db extends AnyKysely, Args extends unknown[], Row>(
  arity: Args['length'],
  build: (db: Db, ...args: Args) => Compilable<Row>,
): (db: Db, ...args: Args) => Promise<Row[]> {
  const templates = new WeakMap<Db, Template>();
  const templateFor = (db: Db): Template => {
    let template = templates.get(db);
    if (!template) {
      const stand = Array.from({ length: arity }, (_, i) => placeholder(i)) as Args;
      const compiled = build(db, ...stand).compile();
      template = {
        sql: compiled.sql,
        parameters: compiled.parameters.map((value) => {
          const argument = stand.indexOf(value);
          return argument >= 0 ? { argument } : { constant: value };
        }),
      };
      const used = new Set(template.parameters.flatMap((p) => ('argument' in p ? [p.argument] : [])));
      if (used.size !== arity) throw new Error(`compiledOnce: the query uses ${used.size} of its ${arity} arguments as parameters; it must use each`);
      templates.set(db, template);
    }
    return template;
  };
  return async (db, ...args) => {
    const template = templateFor(db);
    const parameters = template.parameters.map((p) => ('argument' in p ? args[p.argument] : p.constant));
    const result = await db.executeQuery<Row>(CompiledQuery.raw(template.sql, parameters));
    return result.rows;
  };
}
