import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import ssh2, { type ConnectConfig, type SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/harness/wait.js';
import {
  type FileDrop,
  type FileDropEntry,
  type FileDropPort,
  type FileDropUser,
  startFileDrop,
} from './server.js';

const { Client, utils } = ssh2;
const { NO_SUCH_FILE, PERMISSION_DENIED, FAILURE } = utils.sftp.STATUS_CODE;
const hostKey = utils.generateKeyPairSync('ed25519');
const alphaKey = utils.generateKeyPairSync('ed25519');
const strangerKey = utils.generateKeyPairSync('ed25519');

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Received {
  channelId: string;
  name: string;
  size: number;
  sha256: string;
  /** open: still reading; ended: the body ended; errored: the body errored (`error`). */
  state: 'open' | 'ended' | 'errored';
  error?: string;
  mtimeMs: number;
}

/** The port, in memory: passwords, registered keys, what `receive` read, the reports of out/. */
function fakePort() {
  const passwords = new Map([
    ['alpha', 'alpha-pw'],
    ['beta', 'beta-pw'],
  ]);
  const keys = new Map([['alpha', utils.parseKey(alphaKey.public)]]);
  const received: Received[] = [];
  const out = new Map<string, Map<string, Buffer>>();
  const state = {
    /** A reason to refuse the file after reading it, or null to take it. */
    refuse: (_name: string): string | null => null,
    /** Awaited before `receive` reads a byte. */
    gate: Promise.resolve(),
    /** A reason to refuse the file before reading a byte of it, or null. */
    refuseUnread: null as string | null,
    /** Takes the file without reading it (a port that should not, but might). */
    takeUnread: false,
  };
  const port: FileDropPort = {
    async login(username, password) {
      return passwords.get(username) === password ? { channelId: username } : null;
    },
    async loginWithKey(username, key) {
      const registered = keys.get(username);
      if (!registered || registered instanceof Error || Array.isArray(registered)) return null;
      return registered.getPublicSSH().equals(key.data) ? { channelId: username } : null;
    },
    async receive(user: FileDropUser, fileName: string, body: Readable) {
      const r: Received = {
        channelId: user.channelId,
        name: fileName,
        size: 0,
        sha256: '',
        state: 'open',
        mtimeMs: Date.now(),
      };
      received.push(r);
      if (state.refuseUnread) throw new Error(state.refuseUnread);
      if (state.takeUnread) return { batchId: 'unread' };
      await state.gate;
      const hash = createHash('sha256');
      try {
        for await (const chunk of body) {
          hash.update(chunk as Buffer);
          r.size += (chunk as Buffer).length;
        }
      } catch (err) {
        r.state = 'errored';
        r.error = (err as Error).message;
        throw err;
      }
      r.state = 'ended';
      r.sha256 = hash.digest('hex');
      const why = state.refuse(fileName);
      if (why) throw new Error(why);
      return { batchId: `batch-${received.length}` };
    },
    async listIn(user) {
      return received
        .filter((r) => r.channelId === user.channelId && r.state === 'ended')
        .map((r): FileDropEntry => ({ name: r.name, size: r.size, mtimeMs: r.mtimeMs }));
    },
    async listOut(user) {
      return [...(out.get(user.channelId) ?? new Map<string, Buffer>())].map(([name, data]) => ({
        name,
        size: data.length,
        mtimeMs: Date.UTC(2026, 5, 1, 8, 30),
      }));
    },
    async readOut(user, name) {
      return out.get(user.channelId)?.get(name) ?? null;
    },
  };
  return { port, received, out, state };
}

describe('SFTP file drop', () => {
  let fake: ReturnType<typeof fakePort>;
  let drop: FileDrop;
  let logs: Array<{ msg: string; fields?: Record<string, unknown> }>;
  const open: Array<{ end(): unknown }> = [];

  beforeAll(async () => {
    fake = fakePort();
    logs = [];
    drop = await startFileDrop({
      host: '127.0.0.1',
      port: 0,
      hostKeys: [hostKey.private],
      files: fake.port,
      maxFileBytes: 8 * 1024 * 1024,
      log: (msg, fields) => logs.push({ msg, fields }),
    });
  });
  afterAll(async () => {
    await drop.close();
  });
  beforeEach(() => {
    fake.received.length = 0;
    fake.out.clear();
    fake.state.refuse = () => null;
    fake.state.gate = Promise.resolve();
    fake.state.refuseUnread = null;
    fake.state.takeUnread = false;
    logs.length = 0;
  });
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map(async (c) => c.end()));
  });

  const config = (username: string, more: Partial<ConnectConfig> = {}): ConnectConfig => ({
    host: '127.0.0.1',
    port: drop.port,
    username,
    readyTimeout: 5000,
    ...more,
  });

  async function connect(username: string, password: string, port = drop.port): Promise<SftpClient> {
    const c = new SftpClient();
    open.push(c);
    await c.connect({ ...config(username), port, password });
    return c;
  }

  /** A bare ssh2 client, for what ssh2-sftp-client does not do: writes in a chosen order, exec, a kill. */
  async function raw(username: string, more: Partial<ConnectConfig> = {}) {
    const conn = new Client();
    open.push(conn);
    await new Promise<void>((resolve, reject) => {
      conn.once('ready', resolve).once('error', reject).connect(config(username, more));
    });
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
      conn.sftp((err, s) => (err ? reject(err) : resolve(s))),
    );
    return { conn, sftp };
  }

  const openFile = (sftp: SFTPWrapper, path: string, flags: 'w' | 'r') =>
    new Promise<Buffer>((resolve, reject) =>
      sftp.open(path, flags, (err, h) => (err ? reject(err) : resolve(h))),
    );
  const writeAt = (sftp: SFTPWrapper, h: Buffer, data: Buffer, position: number) =>
    new Promise<void>((resolve, reject) =>
      sftp.write(h, data, 0, data.length, position, (err) => (err ? reject(err) : resolve())),
    );
  const closeFile = (sftp: SFTPWrapper, h: Buffer) =>
    new Promise<void>((resolve, reject) => sftp.close(h, (err) => (err ? reject(err) : resolve())));

  it('logs a channel in by password; the root holds in/ and out/ only', async () => {
    const c = await connect('alpha', 'alpha-pw');
    const root = await c.list('/');
    expect(root.map((e) => [e.type, e.name, e.rights.user])).toEqual([
      ['d', 'in', 'rwx'],
      ['d', 'out', 'rwx'],
    ]);
    expect(await c.cwd()).toBe('/');
    expect((await c.stat('/in')).isDirectory).toBe(true);
    expect((await c.stat('/in')).mode).toBe(0o40755);
    expect(logs).toContainEqual({
      msg: 'filedrop login',
      fields: { user: 'alpha', method: 'password', ok: true, ip: '127.0.0.1' },
    });
    expect(JSON.stringify(logs)).not.toContain('alpha-pw');
  });

  it('refuses a wrong password, and closes the connection after three refused logins', async () => {
    await expect(connect('alpha', 'wrong')).rejects.toThrow(/authentication/i);
    expect(logs).toContainEqual({
      msg: 'filedrop login',
      fields: { user: 'alpha', method: 'password', ok: false, ip: '127.0.0.1' },
    });
    expect(JSON.stringify(logs)).not.toContain('wrong');

    logs.length = 0;
    let tries = 0;
    const conn = new Client();
    open.push(conn);
    const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
    conn.on('error', () => undefined);
    conn.connect(
      config('alpha', {
        authHandler: (_methods, _partial, next) => {
          tries++;
          next({ type: 'password', username: 'alpha', password: `guess-${tries}` });
        },
      }),
    );
    await closed;
    expect(logs.filter((l) => l.msg === 'filedrop login').length).toBe(3);
    expect(logs.map((l) => l.msg)).toContain('filedrop too many failed logins');
  });

  it("logs a channel in by one of its registered keys, not by another's", async () => {
    const { sftp } = await raw('alpha', { privateKey: alphaKey.private });
    expect(sftp).toBeDefined();
    expect(logs).toContainEqual({
      msg: 'filedrop login',
      fields: { user: 'alpha', method: 'publickey', ok: true, ip: '127.0.0.1' },
    });
    await expect(raw('alpha', { privateKey: strangerKey.private })).rejects.toThrow(/authentication/i);
    await expect(raw('beta', { privateKey: alphaKey.private })).rejects.toThrow(/authentication/i);
  });

  it('serves only the sftp subsystem: no command, no shell', async () => {
    const { conn } = await raw('alpha', { password: 'alpha-pw' });
    await expect(
      new Promise((resolve, reject) =>
        conn.exec('cat /etc/passwd', (err, s) => (err ? reject(err) : resolve(s))),
      ),
    ).rejects.toThrow();
    await expect(
      new Promise((resolve, reject) => conn.shell((err, s) => (err ? reject(err) : resolve(s)))),
    ).rejects.toThrow();
  });

  it('streams a 5 MB put byte for byte into receive, from a buffer and from a stream', async () => {
    const c = await connect('alpha', 'alpha-pw');
    const data = randomBytes(5 * 1024 * 1024);
    await c.put(data, '/in/cards.txt');
    expect(fake.received).toEqual([
      expect.objectContaining({ channelId: 'alpha', name: 'cards.txt', size: data.length, state: 'ended' }),
    ]);
    expect(fake.received[0]?.sha256).toBe(sha256(data));

    const stream = new PassThrough();
    const put = c.put(stream, 'in/streamed.txt');
    for (let i = 0; i < data.length; i += 100_000) stream.write(data.subarray(i, i + 100_000));
    stream.end();
    await put;
    expect(fake.received[1]).toMatchObject({ name: 'streamed.txt', size: data.length, sha256: sha256(data) });
    expect(logs).toContainEqual({
      msg: 'filedrop file received',
      fields: { channelId: 'alpha', name: 'streamed.txt', size: data.length, batchId: 'batch-2' },
    });
  });

  it('streams a fastPut (parallel pipelined writes) from a file byte for byte', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recard-filedrop-'));
    try {
      const data = randomBytes(5 * 1024 * 1024 + 123);
      await writeFile(join(dir, 'cards.txt'), data);
      const c = await connect('alpha', 'alpha-pw');
      await c.fastPut(join(dir, 'cards.txt'), '/in/fast.txt', { concurrency: 64, chunkSize: 32768 });
      expect(fake.received).toEqual([
        expect.objectContaining({
          name: 'fast.txt',
          size: data.length,
          sha256: sha256(data),
          state: 'ended',
        }),
      ]);
      const listed = await c.list('/in');
      expect(listed.map((e) => [e.type, e.name, e.size])).toEqual([['-', 'fast.txt', data.length]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('puts writes that arrive out of order back in order', async () => {
    const { sftp } = await raw('alpha', { password: 'alpha-pw' });
    const data = randomBytes(10 * 32 * 1024);
    const h = await openFile(sftp, '/in/shuffled.bin', 'w');
    const order = [3, 0, 9, 1, 2, 8, 4, 7, 5, 6];
    await Promise.all(
      order.map((i) => writeAt(sftp, h, data.subarray(i * 32 * 1024, (i + 1) * 32 * 1024), i * 32 * 1024)),
    );
    await closeFile(sftp, h);
    expect(fake.received[0]).toMatchObject({ name: 'shuffled.bin', size: data.length, sha256: sha256(data) });
  });

  it('fails a close when bytes before the last write never came', async () => {
    const { sftp } = await raw('alpha', { password: 'alpha-pw' });
    const h = await openFile(sftp, '/in/holey.bin', 'w');
    await writeAt(sftp, h, Buffer.from('tail'), 100);
    await expect(closeFile(sftp, h)).rejects.toThrow(/gap at offset 0/);
    expect(fake.received[0]).toMatchObject({ state: 'errored' });
  });

  it('holds write acknowledgements while the port is not reading', async () => {
    let open_: () => void = () => undefined;
    fake.state.gate = new Promise<void>((r) => {
      open_ = r;
    });
    const { sftp } = await raw('alpha', { password: 'alpha-pw' });
    const h = await openFile(sftp, '/in/slow.bin', 'w');
    const chunk = 32 * 1024;
    const data = randomBytes(64 * chunk);
    let acked = 0;
    const writes = Array.from({ length: 64 }, (_, i) =>
      writeAt(sftp, h, data.subarray(i * chunk, (i + 1) * chunk), i * chunk).then(() => acked++),
    );
    await waitFor(() => acked > 0, 5000, 'the first acknowledgements');
    await new Promise((r) => setTimeout(r, 200));
    // The body's high-water mark is 256 KiB: about eight writes are taken before the port reads.
    expect(acked).toBeGreaterThan(0);
    expect(acked).toBeLessThanOrEqual(9);
    open_();
    await Promise.all(writes);
    await closeFile(sftp, h);
    expect(fake.received[0]).toMatchObject({ size: data.length, sha256: sha256(data), state: 'ended' });
  });

  it("makes put fail with the port's message when the file is refused", async () => {
    fake.state.refuse = (name) => (name === 'bad.txt' ? 'line 3: unknown card type "XYZ"' : null);
    const c = await connect('alpha', 'alpha-pw');
    await expect(c.put(Buffer.from('a,b\nc,d\nXYZ,1\n'), '/in/bad.txt')).rejects.toThrow(
      'line 3: unknown card type "XYZ"',
    );
    expect(logs).toContainEqual({
      msg: 'filedrop file refused',
      fields: { channelId: 'alpha', name: 'bad.txt', size: 14 },
    });
    expect(JSON.stringify(logs)).not.toContain('XYZ');
  });

  it('fails the writes of a file the port refuses before reading it, with its message', async () => {
    fake.state.refuseUnread = 'file intake is off for this channel';
    const c = await connect('alpha', 'alpha-pw');
    await expect(c.put(randomBytes(300_000), '/in/early.txt')).rejects.toThrow(
      'file intake is off for this channel',
    );
  });

  it('does not hold a client forever when the port takes a file without reading it to its end', async () => {
    fake.state.takeUnread = true;
    const c = await connect('alpha', 'alpha-pw');
    await c.put(randomBytes(2 * 1024 * 1024), '/in/unread.txt');
    expect(logs.map((l) => l.msg)).toContain('filedrop file taken before its end');
  });

  it("lists out/ and gets a report's bytes as the port has them", async () => {
    const report = Buffer.from('line,status\n1,accepted\n2,refused: wrong secret\n');
    fake.out.set('alpha', new Map([['x.report.csv', report]]));
    const c = await connect('alpha', 'alpha-pw');
    const listed = await c.list('/out');
    expect(listed).toEqual([
      expect.objectContaining({
        type: '-',
        name: 'x.report.csv',
        size: report.length,
        modifyTime: Date.UTC(2026, 5, 1, 8, 30),
      }),
    ]);
    // ssh2-sftp-client passes the server's `ls -l` line on, though its types do not say so.
    expect((listed[0] as { longname?: string } | undefined)?.longname).toMatch(
      /^-rw-r--r-- +1 alpha +alpha +\d+ Jun {2}1 +(08:30|2026) x\.report\.csv$/,
    );
    expect(await c.get('/out/x.report.csv')).toEqual(report);
    expect((await c.stat('/out/x.report.csv')).size).toBe(report.length);
    await expect(c.get('/out/nope.csv')).rejects.toThrow(/no such file/i);
  });

  it('serves a report bigger than one read, to its end', async () => {
    const report = randomBytes(700 * 1024);
    fake.out.set('alpha', new Map([['big.report.csv', report]]));
    const c = await connect('alpha', 'alpha-pw');
    const got = (await c.get('/out/big.report.csv')) as Buffer;
    expect(sha256(got)).toBe(sha256(report));
  });

  it('shows a channel only its own in/ and out/', async () => {
    fake.out.set('alpha', new Map([['a.report.csv', Buffer.from('a')]]));
    fake.out.set('beta', new Map([['b.report.csv', Buffer.from('b')]]));
    const a = await connect('alpha', 'alpha-pw');
    const b = await connect('beta', 'beta-pw');
    await a.put(Buffer.from('alpha cards'), '/in/a.txt');
    await b.put(Buffer.from('beta cards'), '/in/b.txt');
    expect((await a.list('/in')).map((e) => e.name)).toEqual(['a.txt']);
    expect((await b.list('/in')).map((e) => e.name)).toEqual(['b.txt']);
    expect((await b.list('/out')).map((e) => e.name)).toEqual(['b.report.csv']);
    await expect(b.get('/out/a.report.csv')).rejects.toThrow(/no such file/i);
    await expect(b.stat('/in/a.txt')).rejects.toThrow();
    expect(fake.received.map((r) => [r.channelId, r.name])).toEqual([
      ['alpha', 'a.txt'],
      ['beta', 'b.txt'],
    ]);
  });

  it('normalises paths inside the root and refuses those that climb out', async () => {
    const c = await connect('alpha', 'alpha-pw');
    expect(await c.realPath('.')).toBe('/');
    expect(await c.realPath('//in')).toBe('/in');
    expect(await c.realPath('/out/../in')).toBe('/in');
    expect(await c.realPath('in/../out')).toBe('/out');
    for (const path of ['/../etc/passwd', '/in/../../x', '..']) {
      await expect(c.realPath(path), path).rejects.toMatchObject({ code: PERMISSION_DENIED });
    }
    expect(await c.realPath('/etc/passwd')).toBe(''); // ssh2-sftp-client's answer to NO_SUCH_FILE
    await expect(c.get('/../etc/passwd')).rejects.toMatchObject({ code: PERMISSION_DENIED });
    await expect(c.list('/in/../../')).rejects.toMatchObject({ code: PERMISSION_DENIED });
    await expect(c.list('/etc')).rejects.toMatchObject({ code: NO_SUCH_FILE });
    await expect(c.stat('/in/../../x')).rejects.toThrow();
    expect(await c.exists('/etc/passwd')).toBe(false);
    expect(await c.list('/out/../in')).toEqual([]);
  });

  it('refuses a write anywhere but a plain name in in/', async () => {
    const c = await connect('alpha', 'alpha-pw');
    for (const path of [
      '/x.txt',
      '/out/x.txt',
      '/in/sub/x.txt',
      '/../x.txt',
      '/in/../../in/x.txt',
      '/in',
      '/in/a\\b',
    ]) {
      await expect(c.put(Buffer.from('cards'), path), path).rejects.toMatchObject({
        code: PERMISSION_DENIED,
      });
    }
    await expect(c.get('/in/x.txt')).rejects.toMatchObject({ code: PERMISSION_DENIED });
    expect(fake.received).toEqual([]);
  });

  it('refuses mkdir, rename, remove and chmod', async () => {
    fake.out.set('alpha', new Map([['r.report.csv', Buffer.from('r')]]));
    const c = await connect('alpha', 'alpha-pw');
    const denied = { code: PERMISSION_DENIED };
    await expect(c.mkdir('/in/sub')).rejects.toMatchObject(denied);
    await expect(c.rename('/out/r.report.csv', '/in/r.csv')).rejects.toMatchObject(denied);
    await expect(c.delete('/out/r.report.csv')).rejects.toMatchObject(denied);
    await expect(c.rmdir('/in')).rejects.toMatchObject(denied);
    await expect(c.chmod('/out/r.report.csv', 0o777)).rejects.toMatchObject(denied);
  });

  it('answers FAILURE to a handle it never gave', async () => {
    const { sftp } = await raw('alpha', { password: 'alpha-pw' });
    await expect(closeFile(sftp, Buffer.from('nope'))).rejects.toMatchObject({ code: FAILURE });
    await expect(writeAt(sftp, Buffer.from([0, 0, 0, 9]), Buffer.from('x'), 0)).rejects.toMatchObject({
      code: FAILURE,
      message: 'unknown handle',
    });
  });

  it("errors the port's stream (never ends it) when the client is killed mid-upload", async () => {
    const { conn, sftp } = await raw('alpha', { password: 'alpha-pw' });
    const h = await openFile(sftp, '/in/cut.txt', 'w');
    await writeAt(sftp, h, randomBytes(100_000), 0);
    await waitFor(() => fake.received[0]?.size === 100_000, 5000, 'the first bytes at the port');
    conn.on('error', () => undefined);
    conn.destroy();
    const r = await waitFor(() => (fake.received[0]?.state === 'errored' ? fake.received[0] : null), 5000);
    expect(r.error).toBe('the connection closed before the file was complete');
    await waitFor(() => logs.some((l) => l.msg === 'filedrop file abandoned'), 5000);
  });

  it.skipIf(!existsSync('/usr/bin/sftp'))(
    'serves OpenSSH’s sftp: put, ls, get, refusals, and a clean exit',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'recard-filedrop-openssh-'));
      try {
        const data = randomBytes(3 * 1024 * 1024);
        fake.out.set('alpha', new Map([['cards.txt.report.csv', Buffer.from('line,status\n1,accepted\n')]]));
        await writeFile(join(dir, 'cards.txt'), data);
        await writeFile(join(dir, 'key'), alphaKey.private, { mode: 0o600 });
        const batch = [
          'cd in',
          'put cards.txt',
          'ls -l',
          'cd ../out',
          `get cards.txt.report.csv ${join(dir, 'report.csv')}`,
          '-mkdir /in/x',
          '-put cards.txt /out/x',
          '-cd /..',
        ];
        await writeFile(join(dir, 'batch'), `${batch.join('\n')}\n`);
        const args = ['-b', join(dir, 'batch'), '-i', join(dir, 'key'), '-P', String(drop.port)];
        args.push(
          '-o',
          'IdentitiesOnly=yes',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
        );
        args.push('-o', 'BatchMode=yes', 'alpha@127.0.0.1');
        const out = await new Promise<string>((resolve, reject) =>
          execFile('sftp', args, { cwd: dir, timeout: 15_000 }, (err, stdout, stderr) =>
            err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve(stdout + stderr),
          ),
        );
        expect(fake.received[0]).toMatchObject({ name: 'cards.txt', sha256: sha256(data), state: 'ended' });
        expect(out).toMatch(/-rw-r--r-- +1 alpha +alpha +3145728 .* cards\.txt/);
        expect(out).toMatch(/mkdir "\/in\/x": Permission denied/);
        expect(out).toMatch(/"\/out\/x": Permission denied/);
        expect(await readFile(join(dir, 'report.csv'), 'utf8')).toBe('line,status\n1,accepted\n');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  describe('with a small maxFileBytes', () => {
    let small: FileDrop;
    beforeAll(async () => {
      small = await startFileDrop({
        host: '127.0.0.1',
        port: 0,
        hostKeys: [hostKey.private],
        files: fake.port,
        maxFileBytes: 1024 * 1024,
      });
    });
    afterAll(async () => {
      await small.close();
    });

    it('fails a put past the limit, and the port sees its stream error', async () => {
      const c = await connect('alpha', 'alpha-pw', small.port);
      await expect(c.put(randomBytes(2 * 1024 * 1024), '/in/huge.txt')).rejects.toThrow(
        /larger than 1048576 bytes/,
      );
      const r = await waitFor(() => (fake.received[0]?.state === 'errored' ? fake.received[0] : null), 5000);
      expect(r.error).toBe('the file is larger than 1048576 bytes');
      await c.put(randomBytes(1024 * 1024), '/in/just.txt');
      expect(fake.received[1]).toMatchObject({ name: 'just.txt', state: 'ended', size: 1024 * 1024 });
    });
  });

  it('closes a connection that does not log in in time, even one that never says a word', async () => {
    const quick = await startFileDrop({
      host: '127.0.0.1',
      port: 0,
      hostKeys: [hostKey.private],
      files: fake.port,
      maxFileBytes: 1024,
      loginTimeoutMs: 300,
    });
    try {
      const started = Date.now();
      const socket = createConnection({ host: '127.0.0.1', port: quick.port });
      socket.on('data', () => undefined);
      await new Promise((resolve) => socket.once('close', resolve));
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await quick.close();
    }
  });
});
