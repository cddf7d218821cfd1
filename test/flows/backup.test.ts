import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { routeCardTypesTo } from '../../src/main/demo.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { SQLite } from '../../src/storage/sqlite-driver.js';
import { type CliResult, runRecard } from '../harness/processes.js';
import { startTestServer, type TestServer, workerEnv } from '../harness/server.js';
import { cardTaker, settledOrder, submitCard } from '../harness/sim-orders.js';
import { storageTargets } from '../harness/storage.js';

// Spawns `recard` processes (TypeScript through tsx): slow on a loaded CI machine.
vi.setConfig({ testTimeout: 90_000 });

const recard = (args: string[], env: Record<string, string>) => runRecard(args, env);

const sqlite = storageTargets().find((t) => t.name === 'sqlite');
if (!sqlite) throw new Error('the SQLite target is always there');

/**
 * The restore drill of docs/operations.md#backups: an online backup taken while orders come in,
 * restored as the database of another process, which serves what was acknowledged before.
 */
describe('recard backup of the embedded SQLite database', () => {
  let t: TestServer;
  let sims: SimulatorSet;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  let serial = 0;
  const take = cardTaker(() => sims);

  beforeAll(async () => {
    sims = await startSimulators({ seed: 'backup', perLabel: { valid: 80 } });
    t = await startTestServer(sqlite, { config: { workerConcurrency: 8 } });
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    ch = await t.createChannel({ name: 'Backed-up shop' });
  });
  afterAll(async () => {
    await t.stop();
    await sims.close();
  });

  const submit = () => submitCard(ch.client, take('cmcc_national', 'valid'), `bk-${++serial}`);

  it('copies a consistent snapshot while orders come in; the copy restores with its ledger balanced', async () => {
    const before: string[] = [];
    for (let i = 0; i < 20; i++) before.push(await submit());
    for (const id of before.slice(0, 5)) await settledOrder(ch.client, id, 'settled');

    // Orders keep coming in (and being verified and booked) while the backup runs in its own process.
    let load = true;
    const during: Promise<string>[] = [];
    const traffic = (async () => {
      // At most 50 (the simulated base has 80 cards): enough to write throughout a backup of this size.
      while (load && during.length < 50) {
        during.push(submit());
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const file = join(t.dataDir, 'copy.db');
    const made = await recard(['backup', file], workerEnv(t));
    load = false;
    await traffic;
    await Promise.all(during);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/written to .*copy\.db: \d+ pages, [\d.]+ MiB in [\d.]+ s; quick_check ok/);
    expect(made.stdout).toContain('The keys are not in it');
    expect(during.length).toBeGreaterThan(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // Only the finished copy is left: no partial file beside it.
    expect(readdirSync(t.dataDir).filter((f) => f.startsWith('copy.db'))).toEqual(['copy.db']);

    // The copy is a database of its own: every order acknowledged before the backup is in it.
    const copy = new SQLite(file, { fileMustExist: true });
    const ids = new Set((copy.prepare('select id from orders').all() as { id: string }[]).map((r) => r.id));
    copy.close();
    for (const id of before) expect(ids.has(id)).toBe(true);

    // Restored: another process on the copy (with the same keys) finds its schema current and its
    // ledger balanced, with every order matching its entries.
    const restored = workerEnv(t, { DATABASE_URL: `sqlite:${file}` });
    expect((await recard(['migrate', '--status'], restored)).stdout).toContain('pending: none');
    const check = await recard(['ledger', 'check'], restored);
    expect(check.stdout).not.toContain('VIOLATION');
    expect(check.code).toBe(0);
  });

  it('refuses an existing destination, a missing database and PostgreSQL, writing nothing', async () => {
    const taken = join(t.dataDir, 'taken.db');
    writeFileSync(taken, 'not mine to overwrite');
    const over = await recard(['backup', taken], workerEnv(t));
    expect(over.code).toBe(2);
    expect(over.stderr).toContain('exists; give a new file name');
    expect(statSync(taken).size).toBe('not mine to overwrite'.length);

    const missing = await recard(
      ['backup', join(t.dataDir, 'never.db')],
      workerEnv(t, { DATABASE_URL: `sqlite:${join(t.dataDir, 'nowhere.db')}` }),
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no database at');
    expect(existsSync(join(t.dataDir, 'never.db'))).toBe(false);

    const pgUrl = await recard(
      ['backup', join(t.dataDir, 'pg.db')],
      workerEnv(t, { DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none' }),
    );
    expect(pgUrl.code).toBe(2);
    expect(pgUrl.stderr).toContain('on PostgreSQL use pg_dump');
    expect(existsSync(join(t.dataDir, 'pg.db'))).toBe(false);
  });
});

const postgres = storageTargets().find((t) => t.name === 'postgres');

/**
 * The PostgreSQL restore drill of docs/operations.md#postgresql: a logical dump of the live schema
 * with pg_dump, restored with pg_restore into a database of its own, which another process serves.
 */
describe.skipIf(!postgres)('a PostgreSQL restore drill with pg_dump and pg_restore', () => {
  let t: TestServer;
  let sims: SimulatorSet;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  const take = cardTaker(() => sims);
  const restoredDb = `recard_restore_${process.pid}_${Date.now()}`;
  let admin: pg.Client;

  beforeAll(async () => {
    sims = await startSimulators({ seed: 'pg-restore', perLabel: { valid: 20 } });
    t = await startTestServer(postgres as NonNullable<typeof postgres>, { config: { workerConcurrency: 8 } });
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    ch = await t.createChannel({ name: 'Dumped shop' });
    admin = new pg.Client({ connectionString: t.location.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS "${restoredDb}" WITH (FORCE)`);
    await admin.end();
    await t.stop();
    await sims.close();
  });

  const run = async (command: string, args: string[]): Promise<CliResult> => {
    const child = spawn(command, args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const [code] = await once(child, 'exit');
    return { code, stdout, stderr };
  };

  it('a dump taken while the server runs restores with the same orders and a balanced ledger', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push(await submitCard(ch.client, take('cmcc_national', 'valid'), `pg-${i}`));
    for (const id of ids) await settledOrder(ch.client, id, 'settled');

    const dump = join(t.dataDir, 'recard.dump');
    const dumped = await run('pg_dump', [
      '--format=custom',
      `--schema=${t.location.schema}`,
      `--file=${dump}`,
      t.location.url,
    ]);
    expect(dumped.stderr).toBe('');
    expect(dumped.code).toBe(0);

    await admin.query(`CREATE DATABASE "${restoredDb}"`);
    const target = new URL(t.location.url);
    target.pathname = `/${restoredDb}`;
    const restored = await run('pg_restore', ['--no-owner', `--dbname=${target.toString()}`, dump]);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);

    const env = workerEnv(t, { DATABASE_URL: target.toString() });
    expect((await recard(['migrate', '--status'], env)).stdout).toContain('pending: none');
    const check = await recard(['ledger', 'check'], env);
    expect(check.stdout).not.toContain('VIOLATION');
    expect(check.code).toBe(0);
    const copy = new pg.Client({ connectionString: target.toString() });
    await copy.connect();
    try {
      const rows = await copy.query<{ id: string; status: string }>(
        `select id, status from "${t.location.schema}".orders where id = any($1) order by id`,
        [ids],
      );
      expect(rows.rows.map((r) => r.id)).toEqual([...ids].sort());
      for (const r of rows.rows) expect(['settled', 'paid']).toContain(r.status);
    } finally {
      await copy.end();
    }
  });
});
