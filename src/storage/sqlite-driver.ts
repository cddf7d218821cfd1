import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The better-sqlite3 build for this Node: 13 (Node-API, prebuilt inside the package) on Node 22 and
 * later, 12 on Node 20. Neither works on both: 12's statements abort the process when collected on
 * Node 24 (its ObjectWrap removes a cleanup hook with no environment), and 13 needs Node 22. Both
 * are installed (13 under the alias `better-sqlite3-napi`), and only the one that fits is loaded
 * (decision 0046). Their APIs are the same for what Recard uses.
 */
const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);

export const SQLite: typeof BetterSqlite3 = require(major >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3');
export type SqliteDatabase = BetterSqlite3.Database;
export type SqliteStatement = BetterSqlite3.Statement;
