import { closeSync, existsSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { SQLite } from './sqlite-driver.js';

export interface BackupResult {
  pages: number;
  bytes: number;
  ms: number;
}

/** A backup could not be made; nothing is left at the destination. */
export class BackupError extends Error {}

/**
 * An online backup of a SQLite database with SQLite's backup API, while other connections (the
 * server, workers) go on writing. The pages are copied in one step, which in WAL mode is one read
 * transaction: a consistent snapshot that blocks no writer. Copied a few pages per step instead,
 * SQLite starts over whenever another connection writes between steps, which under steady traffic
 * may never end. The copy is written beside the destination, checked, and renamed into place, so
 * the destination is either a whole checked backup or absent; it is owner-only, as the database is.
 */
export async function backupSqlite(source: string, destination: string): Promise<BackupResult> {
  if (!existsSync(source)) throw new BackupError(`no database at ${source}`);
  if (existsSync(destination)) throw new BackupError(`${destination} exists; give a new file name`);
  const partial = `${destination}.partial-${process.pid}`;
  const started = performance.now();
  // Made owner-only before SQLite writes a page of it.
  closeSync(openSync(partial, 'wx', 0o600));
  // Read-write, as the server opens it: a read-only connection to a WAL database needs its -shm.
  const from = new SQLite(source, { fileMustExist: true });
  try {
    from.pragma('busy_timeout = 5000');
    const done = await from.backup(partial, { progress: () => 0x7fffffff });
    const copy = new SQLite(partial, { fileMustExist: true });
    try {
      // One self-contained file (no -wal beside it); a server that opens it puts it back in WAL mode.
      copy.pragma('journal_mode = DELETE');
      const check = copy.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new BackupError(`the copy failed SQLite's quick_check: ${String(check)}`);
    } finally {
      copy.close();
    }
    renameSync(partial, destination);
    return { pages: done.totalPages, bytes: statSync(destination).size, ms: performance.now() - started };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    from.close();
  }
}
