import { type Compilable, CompiledQuery, type Insertable } from 'kysely';
import type { Db } from './database.js';
import type { Database } from './schema.js';

/** Where a bound parameter comes from: a field of the run's values, or a constant of the statement. */
type Bound<P> = { key: keyof P & string } | { value: unknown };

const MARK = '\u0000param:';
const END = '\u0000';
/** The field a marker names, or undefined if `param` is not exactly one marker. */
function markedKey(param: string): string | undefined {
  const whole = param.startsWith(MARK) && param.endsWith(END) && param.lastIndexOf(MARK) === 0;
  const key = param.slice(MARK.length, -END.length);
  return whole && key.length > 0 && !key.includes(END) ? key : undefined;
}

/**
 * A hot-path statement whose shape never changes: Kysely builds and compiles it once per dialect,
 * and each run only binds values. Building the query objects anew for every row was ~15 % of an
 * intake's CPU. `build` must pass every varying value straight from `p` (no arithmetic, no `??` on
 * it, and no spreading `p`, which throws); constants written in `build` stay bound as
 * they are. A value derived from a field is refused when the statement is first compiled.
 */
export function prepared<P extends Record<string, unknown>>(build: (db: Db, p: P) => Compilable<unknown>) {
  // One compiled form per dialect: the adapter is shared by a Kysely instance and its transactions.
  const compiled = new WeakMap<object, { query: CompiledQuery<unknown>; order: Bound<P>[] }>();
  // Built with a stand-in whose every field reads as a marker naming that field.
  const markers = new Proxy({} as P, {
    get: (_, key) => `${MARK}${String(key)}${END}`,
    ownKeys: () => {
      throw new Error('a prepared statement must take the fields of its values one by one, not spread them');
    },
  });

  function templateFor(db: Db) {
    const adapter = db.getExecutor().adapter;
    const had = compiled.get(adapter);
    if (had) return had;
    const query = build(db, markers).compile();
    const order = query.parameters.map((param): Bound<P> => {
      if (typeof param !== 'string' || !param.includes(MARK)) return { value: param };
      const key = markedKey(param);
      if (!key) throw new Error(`prepared statement binds a value derived from a parameter: ${query.sql}`);
      return { key };
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
      statement = prepared<Record<string, unknown>>((d, p) =>
        d.insertInto(table).values(Object.fromEntries(keys.map((k) => [k, p[k]])) as Insertable<Database[T]>),
      );
      byColumns.set(shape, statement);
    }
    return (await statement.run(db, row as Record<string, unknown>)).changed;
  };
}
