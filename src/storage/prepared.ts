import { type Compilable, CompiledQuery, type Insertable } from 'kysely';
import type { Db } from './database.js';
import type { Database } from './schema.js';

/** Where a bound parameter comes from: a field of the run's values, or a constant of the statement. */
type Bound<P> = { key: keyof P & string } | { value: unknown };

/**
 * A hot-path statement whose shape never changes: Kysely builds and compiles it once per dialect,
 * and each run only binds values. Building the query objects anew for every row was ~15 % of an
 * intake's CPU. `build` must pass every varying value straight from `p` (no arithmetic, no `??` on
 * it); constants written in `build` stay bound as they are. A value derived from a field is refused
 * when the statement is first compiled.
 */
export function prepared<P extends Record<string, unknown>>(
  keys: readonly (keyof P & string)[],
  build: (db: Db, p: P) => Compilable<unknown>,
) {
  // One compiled form per dialect: the adapter is shared by a Kysely instance and its transactions.
  const compiled = new WeakMap<object, { query: CompiledQuery<unknown>; order: Bound<P>[] }>();
  const markers = new Map<string, keyof P & string>(keys.map((k) => [`\u0000param:${k}\u0000`, k]));

  function templateFor(db: Db) {
    const adapter = db.getExecutor().adapter;
    const had = compiled.get(adapter);
    if (had) return had;
    const placeholders = Object.fromEntries([...markers].map(([marker, key]) => [key, marker])) as P;
    const query = build(db, placeholders).compile();
    const order = query.parameters.map((param): Bound<P> => {
      const key = typeof param === 'string' ? markers.get(param) : undefined;
      if (key) return { key };
      if (typeof param === 'string' && param.includes('\u0000param:'))
        throw new Error(`prepared statement binds a value derived from a parameter: ${query.sql}`);
      return { value: param };
    });
    const made = { query, order };
    compiled.set(adapter, made);
    return made;
  }

  return {
    /** Runs it with `p`; resolves with the rows (a SELECT) and the rows changed (an INSERT/UPDATE/DELETE). */
    async run<R = unknown>(db: Db, p: P): Promise<{ rows: R[]; changed: number }> {
      const { query, order } = templateFor(db);
      const result = await db.executeQuery<R>(
        CompiledQuery.raw(
          query.sql,
          order.map((b) => ('key' in b ? (p[b.key] ?? null) : b.value)),
        ),
      );
      return { rows: result.rows, changed: Number(result.numAffectedRows ?? 0) };
    },
  };
}

/**
 * A whole-row INSERT into `table`, prepared per set of columns (the row's own keys). A field holding
 * `undefined` is bound as NULL, where Kysely would leave the column to its default: pass whole rows.
 */
export function preparedInsert<T extends keyof Database & string>(table: T) {
  const byColumns = new Map<string, ReturnType<typeof prepared<Record<string, unknown>>>>();
  return async (db: Db, row: Insertable<Database[T]>): Promise<number> => {
    const keys = Object.keys(row);
    const shape = keys.join(',');
    let statement = byColumns.get(shape);
    if (!statement) {
      statement = prepared<Record<string, unknown>>(keys, (d, p) =>
        d.insertInto(table).values(p as Insertable<Database[T]>),
      );
      byColumns.set(shape, statement);
    }
    return (await statement.run(db, row as Record<string, unknown>)).changed;
  };
}
