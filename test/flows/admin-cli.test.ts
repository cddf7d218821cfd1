import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { passwordMatches } from '../../src/modules/admins/passwords.js';
import { runRecard } from '../harness/processes.js';
import { TEST_CHANNEL_KEY } from '../harness/server.js';
import { storageTargets, type TestLocation } from '../harness/storage.js';

vi.setConfig({ testTimeout: 90_000 });

/** `recard admin create`: the password from stdin when piped, else generated and printed once. */
describe.each(storageTargets())('recard admin create on $name', (target) => {
  let loc: TestLocation;
  let dataDir: string;
  beforeEach(async () => {
    loc = await target.fresh();
    dataDir = mkdtempSync(join(tmpdir(), 'recard-admin-cli-'));
  });
  afterEach(async () => {
    await loc.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const recard = (args: string[], stdin: string | null) =>
    runRecard(
      args,
      {
        DATABASE_URL: loc.url,
        RECARD_DATABASE_SCHEMA: loc.schema,
        RECARD_DATA_DIR: dataDir,
        RECARD_CHANNEL_KEY: TEST_CHANNEL_KEY,
        RECARD_LOG_LEVEL: 'warn',
      },
      stdin,
    );

  const hashOf = async (username: string) => {
    const storage = await loc.open({ migrate: false });
    const row = await storage.db
      .selectFrom('admin_users')
      .select(['password_hash', 'role'])
      .where('username', '=', username)
      .executeTakeFirstOrThrow();
    return row;
  };

  it('takes a piped password without printing it, or generates one and prints it once', async () => {
    const piped = await recard(
      ['admin', 'create', '--username', 'pat', '--role', 'finance'],
      'pat-piped-password\n',
    );
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toMatch(/admin user pat \(finance\): adm_/);
    expect(piped.stdout + piped.stderr).not.toContain('pat-piped-password');
    const pat = await hashOf('pat');
    expect(pat.role).toBe('finance');
    expect(await passwordMatches(pat.password_hash, 'pat-piped-password')).toBe(true);

    const gen = await recard(['admin', 'create', '--username', 'gus', '--role', 'admin'], null);
    expect(gen.code, gen.stderr).toBe(0);
    const printed = /password: (\S+)/.exec(gen.stdout)?.[1] ?? '';
    expect(printed.length).toBeGreaterThanOrEqual(24);
    expect(await passwordMatches((await hashOf('gus')).password_hash, printed)).toBe(true);

    const again = await recard(
      ['admin', 'create', '--username', 'pat', '--role', 'admin'],
      'another-password-1',
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists');
    const short = await recard(['admin', 'create', '--username', 'sam', '--role', 'admin'], 'short');
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('password');
    expect(short.stderr).not.toContain('short\n');
  });
});
