import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CliResult, runRecard } from '../harness/processes.js';
import { TEST_CHANNEL_KEY } from '../harness/server.js';
import { storageTargets, type TestLocation } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

// Each test spawns several `recard` processes (TypeScript through tsx): slow on a loaded CI machine.
vi.setConfig({ testTimeout: 90_000 });

describe.each(storageTargets())('the recard command on $name', (target) => {
  let loc: TestLocation;
  let dataDir: string;
  const running: ChildProcess[] = [];

  beforeEach(async () => {
    loc = await target.fresh();
    dataDir = mkdtempSync(join(tmpdir(), 'recard-cli-'));
  });
  afterEach(async () => {
    for (const c of running.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    await loc.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    DATABASE_URL: loc.url,
    RECARD_DATABASE_SCHEMA: loc.schema,
    RECARD_DATA_DIR: dataDir,
    RECARD_LOG_LEVEL: 'warn',
    ...extra,
  });

  function start(args: string[], extra: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', ...args], {
      env: env(extra),
    });
    running.push(child);
    return child;
  }

  const recard = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> =>
    runRecard(args, env(extra));

  it('creates, lists, disables and enables channels; the secret is printed once and works', async () => {
    const created = await recard([
      'channels',
      'create',
      '--name',
      'Shop A',
      '--kind',
      'ecommerce',
      '--callback-url',
      'https://a.example/cb',
      '--settlement-currency',
      'USDT',
    ]);
    expect(created.code).toBe(0);
    const id = /channel id:\s+(ch_[0-9a-z]{26})/.exec(created.stdout)?.[1];
    expect(id).toBeDefined();
    expect(created.stdout).toMatch(/channel secret: sk_/);
    expect(created.stdout).toMatch(/webhook secret: whsec_/);
    // stdout is the answer (scripts parse it); the first-run key warning is a log line on stderr.
    expect(created.stdout).not.toContain('"level"');
    expect(created.stderr).toContain('generated new keys');

    const listed = await recard(['channels', 'list']);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+active\\s+ecommerce\\s+USDT\\s+-\\s+Shop A`));
    expect(listed.stdout).not.toContain('sk_');

    expect((await recard(['channels', 'disable', id ?? ''])).code).toBe(0);
    expect((await recard(['channels', 'list'])).stdout).toMatch(new RegExp(`${id}\\s+disabled`));
    expect((await recard(['channels', 'enable', id ?? ''])).code).toBe(0);
    const unknown = await recard(['channels', 'disable', 'ch_nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no channel ch_nope');

    // Rotation: the new secret is printed once and differs; a bad kind or overlap is refused.
    const apiSecret = /channel secret: (sk_\S+)/.exec(created.stdout)?.[1];
    const rotated = await recard(['channels', 'rotate-secret', id ?? '', '--kind', 'api', '--overlap', '60']);
    expect(rotated.code).toBe(0);
    const fresh = /new api secret: (sk_\S+)/.exec(rotated.stdout)?.[1];
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(apiSecret);
    expect(rotated.stdout).toMatch(/the old one works until \d{4}-\d\d-\d\dT/);
    // Each call starts a process: one refusal stands for the rest (commander checks --kind and --overlap).
    expect((await recard(['channels', 'rotate-secret', 'ch_nope', '--kind', 'webhook'])).stderr).toContain(
      'No channel ch_nope',
    );
  });

  it('refuses bad arguments with a message', async () => {
    const r = await recard(['channels', 'create', '--name', 'X', '--kind', 'bogus']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Allowed choices are ecommerce, merchant, crypto, h5/);
    const url = await recard([
      'channels',
      'create',
      '--name',
      'X',
      '--kind',
      'h5',
      '--callback-url',
      'ftp://x',
    ]);
    expect(url.code).not.toBe(0);
    expect(url.stderr).toContain('must be an http(s) URL');
  });

  it('stops at start on an invalid setting, naming it', async () => {
    const r = await recard(['serve'], { RECARD_PORT: 'eighty', RECARD_WORKER_CONCURRENCY: '0' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RECARD_PORT: .*integer/);
    expect(r.stderr).toMatch(/RECARD_WORKER_CONCURRENCY: /);
  });

  it('migrate applies the schema; a database newer than the code refuses to start', async () => {
    expect((await recard(['migrate'])).stdout).toContain('applied: 0001_foundation');
    expect((await recard(['migrate'])).stdout).toContain('schema is up to date');
    expect((await recard(['migrate', '--status'])).stdout).toContain('pending: none');
    const storage = await loc.open({ migrate: false });
    await sql`insert into kysely_migration (name, timestamp) values ('9999_future', '2030-01-01T00:00:00.000Z')`.execute(
      storage.db,
    );
    for (const args of [['migrate'], ['serve'], ['worker']]) {
      const r = await recard(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('migrations this version of Recard does not know (9999_future)');
    }
  });

  it('worker serves /healthz, /readyz and /metrics on its own port, and no API route; SIGTERM stops it', async () => {
    expect((await recard(['migrate'])).code).toBe(0);
    const worker = start(['worker', '--port', '0']);
    let stdout = '';
    worker.stdout?.on('data', (d) => {
      stdout += d;
    });
    await waitFor(() => /operations at (http:\/\/\S+)/.test(stdout), 20_000, 'the worker banner');
    const url = /operations at (http:\/\/\S+)/.exec(stdout)?.[1] ?? '';
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    const checks = ((await ready.json()) as { checks: { name: string; ok: boolean; detail: string }[] })
      .checks;
    expect(checks.find((c) => c.name === 'worker')?.detail).toMatch(/^running as /);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^recard_jobs\{state="available"\} \d+$/m);
    expect(metrics).toContain('recard_process_cpu_seconds_total');
    // Only operations: no API route and no API reference on a worker's port.
    expect((await fetch(`${url}/v1/channel`)).status).toBe(404);
    expect((await fetch(`${url}/docs`)).status).toBe(404);
    worker.kill('SIGTERM');
    const [code] = await once(worker, 'exit');
    expect(code).toBe(0);
  });

  it('serve --processes 2 runs two API processes on one port, replaces one killed, and stops both on SIGTERM', async () => {
    const server = start(['serve', '--processes', '2'], { RECARD_PORT: '0' });
    let stdout = '';
    server.stdout?.on('data', (d) => {
      stdout += d;
    });
    const banner = /running at (http:\/\/\S+) with 2 API processes \(pids (\d+), (\d+)\)/;
    await waitFor(() => banner.test(stdout), 30_000, 'the supervisor banner');
    const [, url = '', a = '', b = ''] = banner.exec(stdout) ?? [];
    // Each new connection goes to one of them: the job runtime in each names its own pid.
    const servedBy = async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        // A connection handed to a process as it is killed is lost with it: the timeout ends its wait.
        const r = await fetch(`${url}/readyz`, {
          headers: { connection: 'close' },
          signal: AbortSignal.timeout(3000),
        });
        expect(r.status).toBe(200);
        const body = (await r.json()) as { checks: { name: string; detail: string }[] };
        const pid = /:(\d+):/.exec(body.checks.find((c) => c.name === 'worker')?.detail ?? '')?.[1];
        if (pid) seen.add(pid);
      }
      return seen;
    };
    expect(await servedBy()).toEqual(new Set([a, b]));

    process.kill(Number(a), 'SIGKILL');
    const replaced = await waitFor(
      async () => {
        const seen = await servedBy().catch(() => new Set<string>());
        return seen.size === 2 && !seen.has(a) ? seen : undefined;
      },
      30_000,
      'a replacement process',
    );
    expect(replaced.has(b)).toBe(true);

    server.kill('SIGTERM');
    const [code] = await once(server, 'exit');
    expect(code).toBe(0);
    for (const pid of replaced) expect(() => process.kill(Number(pid), 0)).toThrow();
  });

  it('serve --processes refuses --demo', async () => {
    const r = await recard(['serve', '--processes', '2', '--demo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--demo runs in one process');
  });

  it('serve --demo starts with a demo channel whose printed credentials sign calls; SIGTERM stops it cleanly', async () => {
    const server = start(['serve', '--demo'], { RECARD_PORT: '0' });
    let stdout = '';
    server.stdout?.on('data', (d) => {
      stdout += d;
    });
    await waitFor(() => /Channel secret: (\S+)/.test(stdout), 20_000, 'demo banner');
    const url = /running at (http:\/\/\S+)/.exec(stdout)?.[1] ?? '';
    const secret = /Channel secret: (\S+)/.exec(stdout)?.[1] ?? '';
    const call = await recard(['call', 'GET', '/v1/channel'], {
      RECARD_URL: url,
      RECARD_CHANNEL_ID: 'ch_demo0000000000000000000000',
      RECARD_CHANNEL_SECRET: secret,
    });
    expect(call.stdout).toContain('HTTP 200');
    expect(call.stdout).toContain('Demo channel');
    const bad = await recard(['call', 'GET', '/v1/channel'], {
      RECARD_URL: url,
      RECARD_CHANNEL_ID: 'ch_demo0000000000000000000000',
      RECARD_CHANNEL_SECRET: `${secret}x`,
    });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('signature_invalid');

    // The banner's sample card goes all the way through the in-process simulated issuer.
    const data = /call POST \/v1\/orders --data '([^']+)'/.exec(stdout)?.[1] ?? '';
    const creds = {
      RECARD_URL: url,
      RECARD_CHANNEL_ID: 'ch_demo0000000000000000000000',
      RECARD_CHANNEL_SECRET: secret,
    };
    const submitted = await recard(['call', 'POST', '/v1/orders', '--data', data], creds);
    expect(submitted.stdout).toContain('HTTP 201');
    const orderId = /"id": "(ord_[0-9a-z]+)"/.exec(submitted.stdout)?.[1] ?? '';
    // The README's promise: the demo card goes redeemed → settled → paid within seconds (T+0, simulated Alipay).
    await waitFor(
      async () =>
        (await recard(['call', 'GET', `/v1/orders/${orderId}`], creds)).stdout.includes('"status": "paid"'),
      15_000,
      'the demo order to be paid',
    );
    const history = (await recard(['call', 'GET', `/v1/events?after=0&subject_id=${orderId}`], creds)).stdout;
    expect([...history.matchAll(/"type": "(order\.[a-z]+)"/g)].map((m) => m[1])).toEqual([
      'order.redeemed',
      'order.settled',
      'order.paid',
    ]);
    const payoutsOut = (await recard(['call', 'GET', '/v1/payouts'], creds)).stdout;
    expect(payoutsOut).toContain('"status": "paid"');
    expect((await recard(['call', 'GET', '/v1/balance'], creds)).stdout).toContain('HTTP 200');
    // The ledger check is clean, and finds a balance changed behind the ledger's back (exit 1).
    const check = await recard(['ledger', 'check']);
    expect([check.code, check.stdout]).toEqual([
      0,
      expect.stringMatching(/checked \d+ orders and 1 payouts: clean/),
    ]);
    const storage = await loc.open();
    await sql`update ledger_accounts set credits_posted = credits_posted + 1 where kind = 'margin'`.execute(
      storage.db,
    );
    const broken = await recard(['ledger', 'check']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/VIOLATION currency_does_not_balance CNY/);
    await sql`update ledger_accounts set credits_posted = credits_posted - 1 where kind = 'margin'`.execute(
      storage.db,
    );
    expect((await recard(['keys', 'shred', '--dry-run'])).stdout).toContain('would shred 0 card data keys');

    // The USDT channel is quoted in USDT from the in-process exchange-rate feed, at once.
    const usdt = /USDT channel:\s+(ch_\S+)\s+secret (\S+)/.exec(stdout);
    const quoted = await recard(['call', 'GET', '/v1/quotes?card_type=cmcc_national&face_value=10000'], {
      RECARD_URL: url,
      RECARD_CHANNEL_ID: usdt?.[1] ?? '',
      RECARD_CHANNEL_SECRET: usdt?.[2] ?? '',
    });
    expect(quoted.stdout).toContain('HTTP 200');
    expect(quoted.stdout).toContain('"payout_currency": "USDT"');

    server.kill('SIGTERM');
    const [code] = await once(server, 'exit');
    expect(code).toBe(0);
    if (target.name === 'sqlite') expect(statSync(join(dataDir, 'keys.json')).mode & 0o777).toBe(0o600);
  });

  it('simulate runs every simulated issuer on its own; --print-cards prints the test-card table', async () => {
    const sims = start(['simulate', '--port', '0', '--latency-ms', '0']);
    let stdout = '';
    sims.stdout?.on('data', (d) => {
      stdout += d;
    });
    await waitFor(() => /cards \(seed/.test(stdout), 20_000, 'simulators to start');
    for (const issuer of [
      'china_mobile',
      'china_unicom',
      'china_telecom',
      'jd',
      'sinopec',
      'supermarket_chain',
    ])
      expect(stdout).toMatch(new RegExp(`^${issuer}\\s+\\w+\\s+http://127\\.0\\.0\\.1:\\d+$`, 'm'));
    const feed = /^fx_feed\s+json\s+\S+\s+\(RECARD_FX_FEED_URL=(\S+)\)$/m.exec(stdout)?.[1] ?? '';
    expect(((await (await fetch(feed)).json()) as { base: string }).base).toBe('USDT');
    // The SMS gateway simulator: its URL and key, and its recorded messages (none yet).
    const sms = /^sms_gateway\s+json\s+(\S+)\s+\(RECARD_SMS_URL=\S+ RECARD_SMS_KEY=(\S+);/m.exec(stdout);
    expect(sms?.[2]).toMatch(/^[0-9a-f]{32}$/);
    expect(await (await fetch(`${sms?.[1]}/__sim/messages`)).json()).toEqual({ messages: [] });
    const boss = /^china_mobile\s+soap\s+(\S+)$/m.exec(stdout)?.[1] ?? '';
    const wsdl = await fetch(`${boss}/boss/CardService?wsdl`);
    expect(await wsdl.text()).toContain('<operation name="RechargeCard">');
    sims.kill('SIGTERM');
    const [code] = await once(sims, 'exit');
    expect(code).toBe(0);
    const printed = await recard(['simulate', '--print-cards']);
    expect(printed.stdout).toBe(readFileSync('docs/test-cards.md', 'utf8'));
  });

  it('keys rotate re-wraps every card under a new master key while the server keeps serving', async () => {
    const server = start(['serve', '--demo'], { RECARD_PORT: '0' });
    let stdout = '';
    server.stdout?.on('data', (d) => {
      stdout += d;
    });
    await waitFor(() => /Channel secret: (\S+)/.test(stdout), 20_000, 'demo banner');
    const env = {
      RECARD_URL: /running at (http:\/\/\S+)/.exec(stdout)?.[1] ?? '',
      RECARD_CHANNEL_ID: 'ch_demo0000000000000000000000',
      RECARD_CHANNEL_SECRET: /Channel secret: (\S+)/.exec(stdout)?.[1] ?? '',
    };
    const order = (n: number) =>
      JSON.stringify({
        merchant_order_id: `cli-${n}`,
        card_type: 'cmcc_national',
        card_number: `1234567890123456${n}`,
        card_secret: '123456789012345678',
        declared_face_value: 10000,
        seller: { id: 's1' },
      });
    expect((await recard(['call', 'POST', '/v1/orders', '--data', order(1)], env)).stdout).toContain(
      'HTTP 201',
    );
    const rotated = await recard(['keys', 'rotate']);
    expect(rotated.code).toBe(0);
    const newKeyId = /new card master key (\w+)/.exec(rotated.stdout)?.[1];
    expect(rotated.stdout).toMatch(/re-wrapped 1 card data keys/);
    // The running server picked the new key up: a new card is sealed under it.
    expect((await recard(['call', 'POST', '/v1/orders', '--data', order(2)], env)).stdout).toContain(
      'HTTP 201',
    );
    const storage = await loc.open({ migrate: false });
    const keys = await storage.db.selectFrom('orders').select('card_key_id').execute();
    expect(keys.map((k) => k.card_key_id)).toEqual([newKeyId, newKeyId]);
    expect(
      JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8')).card_master_keys_retired,
    ).toBeUndefined();
    server.kill('SIGTERM');
    await once(server, 'exit');
  });

  it('takes keys from the environment where set, generating only the others', async () => {
    const adminToken = `adm_${'x'.repeat(40)}`;
    const both = {
      RECARD_CHANNEL_KEY: TEST_CHANNEL_KEY,
      RECARD_CARD_MASTER_KEY: TEST_CHANNEL_KEY,
      RECARD_CARD_HASH_KEY: TEST_CHANNEL_KEY,
      RECARD_ADMIN_TOKEN: adminToken,
    };
    expect((await recard(['channels', 'create', '--name', 'K', '--kind', 'crypto'], both)).code).toBe(0);
    expect(() => statSync(join(dataDir, 'keys.json'))).toThrow();
    const one = await recard(['channels', 'list'], { RECARD_CHANNEL_KEY: TEST_CHANNEL_KEY });
    expect(one.code).toBe(0);
    const generated = Object.keys(JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8')));
    expect(generated).not.toContain('channel_key');
    expect(generated).toEqual(expect.arrayContaining(['admin_token', 'card_master_key', 'card_hash_key']));
  });
});
