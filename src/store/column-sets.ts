/**
 * Column sets: which columns of a table a read selects, derived from the record fields the
 * caller will read. Customers and members each describe their table once (every column a record
 * is built from, and the columns behind each record field, next to their row translation); this
 * module turns those two facts into the sets queries read, remembered so a set is built once.
 *
 * Reading fewer columns is most of what a page costs in SQLite (each value is a JavaScript
 * string or number built per row) and, on PostgreSQL, a timestamp not read is a Date neither
 * parsed nor formatted back. A record read with a narrow set holds meaningless values in the
 * fields outside `fields`; `checkRecords` makes such a record throw when one is read (tests).
 */

export interface ColumnSet<Field extends string, Column extends string> {
  readonly columns: readonly Column[];
  readonly fields: ReadonlySet<Field>;
  /** Stable text naming the set (caches of compiled statements are keyed by it). */
  readonly key: string;
  /** Records read with this set throw when a field outside `fields` is read. */
  readonly checkRecords: boolean;
}

export class ColumnPlan<Field extends string, Column extends string> {
  /** Every column: what writes, exports and whole-record reads select. */
  readonly all: ColumnSet<Field, Column>;
  private readonly widened = new WeakMap<ColumnSet<Field, Column>, Map<string, ColumnSet<Field, Column>>>();

  /**
   * @param what  the record's name in error messages ("customer", "member")
   * @param columns  every column a record is built from, in select order
   * @param fieldColumns  the columns each record field is built from
   * @param always  columns every read selects (the keys lookups and groupings match on)
   * @param readsTable  where a resolver's reads are declared (named by the checked-record error)
   */
  constructor(
    private readonly what: string,
    private readonly columns: readonly Column[],
    private readonly fieldColumns: { readonly [F in Field]: readonly Column[] },
    private readonly always: readonly Column[],
    private readonly readsTable: string,
  ) {
    this.all = this.setOf(new Set(columns), false);
  }

  private setOf(columns: ReadonlySet<Column>, checkRecords: boolean): ColumnSet<Field, Column> {
    const ordered = this.columns.filter((column) => columns.has(column));
    const fields = (Object.keys(this.fieldColumns) as Field[]).filter((field) => this.fieldColumns[field].every((column) => columns.has(column)));
    const key = ordered.length === this.columns.length ? '*' : ordered.join(',');
    return { columns: ordered, fields: new Set(fields), key, checkRecords };
  }

  /** The columns to read for these record fields (with the `always` ones); every column when that is all of them. */
  columnsFor(fields: Iterable<Field>, options: { checkRecords?: boolean } = {}): ColumnSet<Field, Column> {
    const columns = new Set<Column>(this.always);
    for (const field of fields) for (const column of this.fieldColumns[field]) columns.add(column);
    return columns.size === this.columns.length ? this.all : this.setOf(columns, options.checkRecords === true);
  }

  /** `set` plus the columns behind `fields` (a lookup's key, a cursor's sort value), remembered per set. */
  withFields(set: ColumnSet<Field, Column>, fields: readonly Field[]): ColumnSet<Field, Column> {
    if (fields.every((field) => set.fields.has(field))) return set;
    let bySet = this.widened.get(set);
    if (!bySet) this.widened.set(set, (bySet = new Map<string, ColumnSet<Field, Column>>()));
    const key = fields.join(',');
    let wider = bySet.get(key);
    if (!wider) bySet.set(key, (wider = this.columnsFor([...set.fields, ...fields], set)));
    return wider;
  }

  /** Records from rows read with `read`'s columns, guarded when the set asks for it. */
  recordsOf<Row, R extends object>(rows: readonly Row[], read: ColumnSet<Field, Column>, toRecord: (row: Row) => R): R[] {
    const records = rows.map(toRecord);
    return read.checkRecords ? records.map((record) => this.checked(record, read)) : records;
  }

  private checked<R extends object>(record: R, read: ColumnSet<Field, Column>): R {
    const { fieldColumns, what, readsTable } = this;
    return new Proxy(record, {
      get(target, property, receiver) {
        if (typeof property === 'string' && property in fieldColumns && !read.fields.has(property as Field)) {
          throw new Error(`${what} field "${property}" was read from a record built from columns ${read.key} only; declare it in ${readsTable}`);
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
  }
}
