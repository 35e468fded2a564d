/**
 * Pages of a customer's children (members oldest first, actions newest first) for many
 * customers in one statement: a window function numbers each customer's rows in page order
 * and keeps the first `limit`. Also their counts, grouped, in one statement.
 */
import type { Kysely, Selectable } from 'kysely';
import type { KeysetPosition } from './customers.repository';
import type { Database } from './tables';

export type ChildTable = 'members' | 'actions';

export async function listChildPages<T extends ChildTable>(
  db: Kysely<Database>,
  table: T,
  workspaceId: string,
  customerIds: readonly string[],
  limit: number,
  after: KeysetPosition | null,
  descending: boolean,
) {
  const direction = descending ? 'desc' : 'asc';
  // A single table name typed as the union: Kysely checks the shared columns used here.
  const from = table as ChildTable;
  const numbered = db
    .selectFrom(from)
    .selectAll()
    .select((eb) =>
      eb.fn
        .agg<number>('row_number')
        .over((ob) => ob.partitionBy('customer_id').orderBy('created_at', direction).orderBy('id', direction))
        .as('position'),
    )
    .where('workspace_id', '=', workspaceId)
    .where('customer_id', 'in', customerIds)
    .$if(after !== null, (q) =>
      q.where((eb) => eb(eb.refTuple('created_at', 'id'), descending ? '<' : '>', eb.tuple(after?.value ?? '', after?.id ?? ''))),
    );
  const rows = await db
    .selectFrom(numbered.as('page'))
    .selectAll()
    .where('position', '<=', limit)
    .orderBy('customer_id')
    .orderBy('position')
    .execute();
  return rows as unknown as Selectable<Database[T]>[];
}

export async function countChildren(
  db: Kysely<Database>,
  table: ChildTable,
  workspaceId: string,
  customerIds: readonly string[],
): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom(table)
    .select(['customer_id', (eb) => eb.fn.countAll<number | string>().as('count')])
    .where('workspace_id', '=', workspaceId)
    .where('customer_id', 'in', customerIds)
    .groupBy('customer_id')
    .execute();
  return new Map(rows.map((row) => [row.customer_id, Number(row.count)]));
}
