import type { Insertable } from 'kysely';
import type { Db } from './database.js';
import { prepared } from './prepared.js';
import type { Database } from './schema.js';

/**
 * Rows per statement of a multi-row insert: one statement's overhead (driver, promise hops) for many
 * rows, a batch file's chunk writing hundreds of orders at once (docs/batches.md#speed). Fixed sizes,
 * so that each (table, columns, size) is compiled once and then only bound, like `prepared`:
 * building a 250-row insert with Kysely anew each time cost more than writing it.
 */
const SIZES = [64, 16, 4, 1] as const;

type Statement = ReturnType<typeof prepared<Record<string, unknown>>>;
const statements = new Map<string, Statement>();

function statementFor(table: string, columns: readonly string[], rows: number): Statement {
  const id = `${table}|${columns.join(',')}|${rows}`;
  let s = statements.get(id);
  if (!s) {
    s = prepared<Record<string, unknown>>((db, p) =>
      db
        .insertInto(table as keyof Database & string)
        .values(
          Array.from(
            { length: rows },
            (_, r) => Object.fromEntries(columns.map((c, k) => [c, p[`r${r}c${k}`]])) as never,
          ),
        ),
    );
    statements.set(id, s);
  }
  return s;
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
  let at = 0;
  while (at < rows.length) {
    const left = rows.length - at;
    const size = SIZES.find((n) => n <= left) ?? 1;
    const p: Record<string, unknown> = {};
    for (let r = 0; r < size; r++) {
      const row = rows[at + r] as Record<string, unknown>;
      for (let k = 0; k < columns.length; k++) p[`r${r}c${k}`] = row[columns[k] as string] ?? null;
    }
    await statementFor(table, columns, size).run(db, p);
    at += size;
  }
}
