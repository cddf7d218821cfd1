import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startServer } from '../../src/main/api.js';
import { createContext } from '../../src/main/context.js';
import { capturingLogger } from '../harness/logger.js';

/** The README promises owner-only files in the data folder, whoever created the folder. */
describe('files in the data folder', () => {
  let dataDir = '';
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('a pre-existing, world-readable data folder gets only owner-only files (db, -wal, -shm, keys)', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'recard-modes-'));
    chmodSync(dataDir, 0o755);
    const config = loadConfig({ RECARD_DATA_DIR: dataDir }, { port: 0, logLevel: 'silent' });
    const ctx = await createContext(config, { logger: capturingLogger('silent').logger });
    const server = await startServer(ctx, { worker: false });
    // A write, so that the WAL has content while the files are looked at.
    const made = await ctx.channels.create({ name: 'modes', kind: 'merchant' });
    expect(made.ok).toBe(true);
    const files = readdirSync(dataDir);
    const modes = Object.fromEntries(
      files.map((f) => [f, (statSync(join(dataDir, f)).mode & 0o777).toString(8)]),
    );
    await server.stop();
    await ctx.close();
    expect(files).toEqual(
      expect.arrayContaining(['recard.db', 'recard.db-wal', 'recard.db-shm', 'keys.json']),
    );
    for (const f of files) expect({ [f]: modes[f] }).toEqual({ [f]: '600' });
  });
});
