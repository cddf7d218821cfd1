import { CompiledQuery, type Insertable } from 'kysely';
import type { Db } from './database.js';
import type { Database } from './schema.js';

/**
 * Rows per statement of a multi-row insert: one statement's overhead (driver, promise hops) for many
 * rows, a batch file's chunk writing hundreds of orders at once (docs/batches.md#speed). Fixed sizes,
 * so that each (table, columns, size) is compiled once and then only bound: building a 250-row
 * insert with Kysely anew each time cost more than writing it.
 */
const SIZES = [64, 16, 4, 1] as const;

/** A compiled multi-row insert: its SQL, and for each bound parameter the cell it takes (row·columns + column). */
interface Template {
  sql: string;
  cells: number[];
}

const MARK = '\u0000cell:';
/** Per adapter (one per dialect), per table, columns and row count. */
const templates = new WeakMap<object, Map<string, Template>>();

function templateFor(db: Db, table: string, columns: readonly string[], rows: number): Template {
  const adapter = db.getExecutor().adapter;
  let byShape = templates.get(adapter);
  if (!byShape) {
    byShape = new Map();
    templates.set(adapter, byShape);
  }
  const id = `${table}|${columns.join(',')}|${rows}`;
  const had = byShape.get(id);
  if (had) return had;
  // Compiled with a marker naming its cell in each place; the cells are then read straight from the
  // rows at each run (a profile put a third of a batch slice's insert time in building named values).
  const query = db
    .insertInto(table as keyof Database & string)
    .values(
      Array.from(
        { length: rows },
        (_, r) => Object.fromEntries(columns.map((c, k) => [c, `${MARK}${r * columns.length + k}`])) as never,
      ),
    )
    .compile();
  const cells = query.parameters.map((param) => {
    if (typeof param !== 'string' || !param.startsWith(MARK))
      throw new Error(`multi-row insert into ${table} binds a parameter that is not a cell`);
    return Number(param.slice(MARK.length));
  });
  const made = { sql: query.sql, cells };
  byShape.set(id, made);
  return made;
}

/** Inserts `rows` (all with the same columns) in few statements, in the caller's transaction. */
export async function insertRows<T extends keyof Database & string>(
  db: Db,
  table: T,
  rows: readonly Insertable<Database[T]>[],
): Promise<void> {
  const first = rows[0];
  if (!first) return;
  const columns = Object.keys(first);
  const width = columns.length;
  let at = 0;
  while (at < rows.length) {
    const left = rows.length - at;
    const size = SIZES.find((n) => n <= left) ?? 1;
    const { sql, cells } = templateFor(db, table, columns, size);
    const params = new Array<unknown>(cells.length);
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i] as number;
      const row = rows[at + Math.floor(cell / width)] as Record<string, unknown>;
      params[i] = row[columns[cell % width] as string] ?? null;
    }
    await db.executeQuery(CompiledQuery.raw(sql, params));
    at += size;
  }
}
