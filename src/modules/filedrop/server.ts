import net from 'node:net';
import type { Readable } from 'node:stream';
import ssh2, { type AuthContext, type Connection, type FileEntry, type SFTPWrapper } from 'ssh2';
import { attrsOf, entryOf, ownerName } from './listing.js';
import { type DropDir, fileNameProblem, type Resolved, resolvePath } from './paths.js';
import { Upload } from './upload.js';

const { Server, utils } = ssh2;
const STATUS = utils.sftp.STATUS_CODE;
const MODE = utils.sftp.OPEN_MODE;

export interface FileDropUser {
  channelId: string;
}

export interface FileDropEntry {
  name: string;
  size: number;
  mtimeMs: number;
}

/** What the file drop needs from the rest of Recard. It keeps no file of its own: every byte goes here. */
export interface FileDropPort {
  /** Password login: username is the channel id. Resolves null when refused (unknown user, wrong password, channel suspended). */
  login(username: string, password: string): Promise<FileDropUser | null>;
  /**
   * Optional public-key login (the channel's registered keys). Resolves the user when `key` (its SSH
   * wire form in `data`) is one of the channel's keys, else null. The server calls it twice per key:
   * once when the client asks whether it may use the key (no signature yet: a user means "yes, sign"),
   * and once when the client has signed — and then only after the server has checked the signature
   * against `key` itself, so a port that only compares keys is safe. `verify(signature, signedData)`
   * checks a signature with `key`, for a port that wants to check one of its own.
   */
  loginWithKey?(
    username: string,
    key: { algo: string; data: Buffer },
    verify: (signature: Buffer, signedData: Buffer) => boolean,
  ): Promise<FileDropUser | null>;
  /**
   * A file being put in in/: its bytes arrive on `body` as the client writes them, in order. Resolves when the
   * batch is taken (its id), rejects with an Error whose message is safe to show the channel when the file is refused.
   * `body` errors (and never ends) when the upload fails: too large, the client went away, a broken write.
   */
  receive(user: FileDropUser, fileName: string, body: Readable): Promise<{ batchId: string }>;
  /** in/ as the channel sees it: the files received, with what became of them (names like `cards.txt`). */
  listIn(user: FileDropUser): Promise<FileDropEntry[]>;
  /** out/: the reports ready (names like `cards.txt.report.csv`). */
  listOut(user: FileDropUser): Promise<FileDropEntry[]>;
  /** The bytes of an out/ file, or null if there is no such file. */
  readOut(user: FileDropUser, name: string): Promise<Buffer | null>;
}

export interface FileDropOptions {
  /** Default: all interfaces. */
  host?: string;
  /** 0 picks a free port (see the returned `port`). */
  port: number;
  /** Private host keys, PEM or OpenSSH format; at most one of each type is used. */
  hostKeys: (Buffer | string)[];
  files: FileDropPort;
  /** A file larger than this is refused while it is written. */
  maxFileBytes: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Refused logins (password or key) before the connection is closed. Default 3. */
  maxAuthAttempts?: number;
  /** A connection not logged in by then is closed. Default 30 s. */
  loginTimeoutMs?: number;
  /** Connections at once; more are closed on arrival. Default 200. */
  maxConnections?: number;
  /** Per file being put: bytes held out of order or not yet read by the port. Default 8 MiB. */
  maxBufferedBytes?: number;
}

export interface FileDrop {
  /** The port listened on (useful with `port: 0`). */
  port: number;
  /** Stops listening, closes every connection (an upload in progress fails) and resolves once all are gone. */
  close(): Promise<void>;
}

const MAX_UPLOADS_PER_CONNECTION = 4;
const MAX_SFTP_SESSIONS_PER_CONNECTION = 4;
const MAX_HANDLES_PER_SESSION = 64;
const MAX_READ_BYTES = 255 * 1024;
const DIR_PAGE = 100;
const BODY_HIGH_WATER_MARK = 256 * 1024;
const MAX_PENDING_WRITES = 1024;
const CLOSE_GRACE_MS = 1000;
const DISCONNECTED = 'the connection closed before the file was complete';

type Log = (msg: string, fields?: Record<string, unknown>) => void;

interface Context {
  files: FileDropPort;
  log: Log;
  maxFileBytes: number;
  maxBufferedBytes: number;
  startedMs: number;
}

/**
 * The SFTP file drop (decision 0039): one virtual tree per channel, `/in` (put a file: it becomes a
 * batch through `files.receive`) and `/out` (the reports `files` lists and reads). Nothing is written
 * to disk. Only the `sftp` subsystem of a session is served; shells, commands, forwarding and other
 * subsystems are refused.
 */
export async function startFileDrop(options: FileDropOptions): Promise<FileDrop> {
  const log: Log = options.log ?? (() => undefined);
  const ctx: Context = {
    files: options.files,
    log,
    maxFileBytes: options.maxFileBytes,
    maxBufferedBytes: options.maxBufferedBytes ?? 8 * 1024 * 1024,
    startedMs: Date.now(),
  };
  const maxAuthAttempts = options.maxAuthAttempts ?? 3;
  const loginTimeoutMs = options.loginTimeoutMs ?? 30_000;
  const maxConnections = options.maxConnections ?? 200;

  const connections = new Set<DropConnection>();
  const sockets = new Set<net.Socket>();
  /** Per socket not logged in yet (by remote address and port): the timer that will close it. */
  const loginTimers = new Map<string, NodeJS.Timeout>();
  const ssh = new Server({ hostKeys: options.hostKeys }, (client, info) => {
    const key = `${info.ip}|${info.port}`;
    const loggedIn = () => {
      clearTimeout(loginTimers.get(key));
      loginTimers.delete(key);
    };
    const conn = new DropConnection(client, info.ip, ctx, maxAuthAttempts, loggedIn);
    connections.add(conn);
    client.on('close', () => connections.delete(conn));
  });
  // The TCP side is ours: the login timer runs from the first byte (a peer that never sends its SSH
  // version is closed too), and close() can destroy sockets that linger.
  const tcp = net.createServer((socket) => {
    if (sockets.size >= maxConnections) {
      socket.destroy();
      return;
    }
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    const timer = setTimeout(() => {
      log('filedrop login timed out', { ip: socket.remoteAddress });
      socket.destroy();
    }, loginTimeoutMs);
    timer.unref();
    loginTimers.set(key, timer);
    sockets.add(socket);
    socket.once('close', () => {
      clearTimeout(timer);
      loginTimers.delete(key);
      sockets.delete(socket);
    });
    ssh.injectSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(options.port, options.host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  tcp.on('error', (err) => log('filedrop server error', { error: err.message }));
  const address = tcp.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  let closing: Promise<void> | null = null;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        tcp.close(() => resolve());
        for (const conn of connections) conn.end();
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, CLOSE_GRACE_MS);
        timer.unref();
      });
      return closing;
    },
  };
}

/** One SSH connection: login, then up to a few SFTP sessions. */
class DropConnection {
  private user: FileDropUser | null = null;
  private failures = 0;
  private sftpSessions = 0;
  private readonly sessions = new Set<DropSession>();
  private closed = false;
  /** Files open for writing on this connection, across its sessions. */
  uploads = 0;

  constructor(
    private readonly client: Connection,
    private readonly ip: string,
    private readonly ctx: Context,
    private readonly maxAuthAttempts: number,
    loggedIn: () => void,
  ) {
    client.on('error', (err) => ctx.log('filedrop connection error', { ip, error: err.message }));
    client.on('authentication', (auth) => {
      this.authenticate(auth).catch((err: unknown) => {
        // The port failed to answer: a refusal, counted like one.
        ctx.log('filedrop login failed', { ip, error: errorText(err) });
        if (!this.closed) this.refused(auth);
      });
    });
    client.on('ready', loggedIn);
    client.on('session', (accept, reject) => {
      if (this.user === null) return reject();
      const session = accept();
      session.on('sftp', (acceptSftp, rejectSftp) => {
        const user = this.user;
        if (user === null || this.sftpSessions >= MAX_SFTP_SESSIONS_PER_CONNECTION) return rejectSftp();
        this.sftpSessions++;
        const s = new DropSession(acceptSftp(), user, this, ctx);
        this.sessions.add(s);
      });
      for (const refused of ['exec', 'shell', 'subsystem', 'pty', 'x11', 'auth-agent', 'env'] as const) {
        session.on(refused, (_accept: unknown, rejectIt?: () => void) => rejectIt?.());
      }
    });
    client.on('close', () => {
      this.closed = true;
      for (const s of this.sessions) s.cleanup();
      this.sessions.clear();
    });
  }

  end(): void {
    this.client.end();
  }

  sessionEnded(s: DropSession): void {
    if (this.sessions.delete(s)) this.sftpSessions--;
  }

  private methods(): Array<'password' | 'publickey'> {
    return this.ctx.files.loginWithKey ? ['publickey', 'password'] : ['password'];
  }

  private async authenticate(auth: AuthContext): Promise<void> {
    // Past the limit the connection is closing; a request the client sent meanwhile is not tried.
    if (this.failures >= this.maxAuthAttempts) return auth.reject();
    const username = auth.username.slice(0, 100);
    if (auth.method === 'password') {
      const user = await this.ctx.files.login(auth.username, auth.password);
      if (this.closed) return;
      this.ctx.log('filedrop login', { user: username, method: 'password', ok: user !== null, ip: this.ip });
      if (user) return this.accepted(auth, user);
      return this.refused(auth);
    }
    const loginWithKey = this.ctx.files.loginWithKey?.bind(this.ctx.files);
    if (auth.method === 'publickey' && loginWithKey) {
      const parsed = utils.parseKey(auth.key.data);
      if (parsed instanceof Error || Array.isArray(parsed)) return this.refused(auth);
      const hashAlgo = auth.hashAlgo;
      const verify = (signature: Buffer, signedData: Buffer) =>
        parsed.verify(signedData, signature, hashAlgo) === true;
      const signed = auth.signature !== undefined && auth.blob !== undefined;
      if (signed && !verify(auth.signature as Buffer, auth.blob as Buffer)) {
        this.ctx.log('filedrop login', { user: username, method: 'publickey', ok: false, ip: this.ip });
        return this.refused(auth);
      }
      const user = await loginWithKey(auth.username, auth.key, verify);
      if (this.closed) return;
      if (!signed) {
        // The client asks whether it may use this key: "yes, sign" is not a login yet.
        if (user) return auth.accept();
        return this.refused(auth);
      }
      this.ctx.log('filedrop login', { user: username, method: 'publickey', ok: user !== null, ip: this.ip });
      if (user) return this.accepted(auth, user);
      return this.refused(auth);
    }
    // `none` (what a client asks first, to learn the methods) is no attempt; any other method is refused.
    if (auth.method !== 'none') return this.refused(auth);
    auth.reject(this.methods());
  }

  private accepted(auth: AuthContext, user: FileDropUser): void {
    this.user = user;
    auth.accept();
  }

  private refused(auth: AuthContext): void {
    this.failures++;
    if (this.failures >= this.maxAuthAttempts) {
      this.ctx.log('filedrop too many failed logins', { user: auth.username.slice(0, 100), ip: this.ip });
      auth.reject();
      this.client.end();
      return;
    }
    auth.reject(this.methods());
  }
}

type Handle =
  | { kind: 'dir'; entries: FileEntry[]; next: number }
  | { kind: 'read'; name: string; data: Buffer }
  | { kind: 'write'; name: string; upload: Upload; outcome: Promise<Outcome> };

type Outcome = { ok: true; batchId: string } | { ok: false; message: string };

/** One SFTP session of a logged-in channel: the request handlers over its virtual tree. */
class DropSession {
  private readonly handles = new Map<number, Handle>();
  private nextHandle = 1;
  /** Names put (or being put) in this session: a SETSTAT of their times or mode after the put is let be. */
  private readonly put = new Set<string>();
  private ended = false;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly user: FileDropUser,
    private readonly conn: DropConnection,
    private readonly ctx: Context,
  ) {
    sftp.on('error', (err: Error) =>
      ctx.log('filedrop sftp error', { channelId: user.channelId, error: err.message }),
    );
    // The client is done (EOF on the channel): close our side too, or OpenSSH's sftp waits for it.
    sftp.on('end', () => {
      this.cleanup();
      sftp.end();
    });
    sftp.on('close', () => this.cleanup());

    sftp.on('REALPATH', (id, path) => this.now(id, () => this.realPath(id, path)));
    sftp.on('STAT', (id, path) => this.run(id, () => this.stat(id, path)));
    sftp.on('LSTAT', (id, path) => this.run(id, () => this.stat(id, path)));
    sftp.on('OPENDIR', (id, path) => this.run(id, () => this.openDir(id, path)));
    sftp.on('READDIR', (id, handle) => this.now(id, () => this.readDir(id, handle)));
    sftp.on('OPEN', (id, path, flags) => this.run(id, () => this.open(id, path, flags)));
    sftp.on('READ', (id, handle, offset, length) =>
      this.now(id, () => this.read(id, handle, offset, length)),
    );
    sftp.on('WRITE', (id, handle, offset, data) => this.now(id, () => this.write(id, handle, offset, data)));
    sftp.on('FSTAT', (id, handle) => this.now(id, () => this.fstat(id, handle)));
    sftp.on('FSETSTAT', (id, handle) => this.now(id, () => this.fsetstat(handle)));
    sftp.on('SETSTAT', (id, path) => this.now(id, () => this.setstat(path)));
    sftp.on('CLOSE', (id, handle) => this.run(id, () => this.close(handle)));
    sftp.on('READLINK', (id, path) =>
      this.now(id, () => {
        const r = resolvePath(path);
        return r.ok ? { code: STATUS.FAILURE, message: 'not a symbolic link' } : notInTree(r);
      }),
    );
    const denied = (id: number) => this.answer(id, DENIED);
    sftp.on('REMOVE', denied);
    sftp.on('RMDIR', denied);
    sftp.on('MKDIR', denied);
    sftp.on('RENAME', denied);
    sftp.on('SYMLINK', denied);
    // No EXTENDED listener: ssh2 answers OP_UNSUPPORTED (and the server advertises no extension).
  }

  /** The session is over: every file still being put fails (the port discards it). */
  cleanup(): void {
    if (this.ended) return;
    this.ended = true;
    for (const h of this.handles.values()) {
      if (h.kind === 'write') {
        this.conn.uploads--;
        h.upload.fail(DISCONNECTED);
        this.ctx.log('filedrop file abandoned', {
          channelId: this.user.channelId,
          name: h.name,
          size: h.upload.received,
        });
      }
    }
    this.handles.clear();
    this.conn.sessionEnded(this);
  }

  /** Sends the status a handler answered with; a handler that replied itself answers undefined. */
  private answer(id: number, status: Status | undefined): void {
    if (status) this.sftp.status(id, status.code, status.message);
  }

  /** Runs a synchronous handler; an unexpected error is a FAILURE, never a crash of the server. */
  private now(id: number, handler: () => Status | undefined): void {
    let status: Status | undefined;
    try {
      status = handler();
    } catch (err) {
      this.ctx.log('filedrop request failed', { channelId: this.user.channelId, error: errorText(err) });
      status = { code: STATUS.FAILURE, message: 'internal error' };
    }
    this.answer(id, status);
  }

  /** Runs a handler that may await the port; an unexpected error is a FAILURE, never a crash. */
  private run(id: number, handler: () => Promise<Status | undefined>): void {
    handler().then(
      (status) => this.answer(id, status),
      (err: unknown) => {
        this.ctx.log('filedrop request failed', { channelId: this.user.channelId, error: errorText(err) });
        this.sftp.status(id, STATUS.FAILURE, 'internal error');
      },
    );
  }

  private handle(raw: Buffer): Handle | undefined {
    return raw.length === 4 ? this.handles.get(raw.readUInt32BE(0)) : undefined;
  }

  /** Replies with a new handle for `h`, or answers why there is none. */
  private addHandle(id: number, h: Handle): Status | undefined {
    if (this.ended) return { code: STATUS.FAILURE, message: 'the session is over' };
    if (this.handles.size >= MAX_HANDLES_PER_SESSION)
      return { code: STATUS.FAILURE, message: 'too many open handles' };
    const n = this.nextHandle;
    this.nextHandle = (this.nextHandle % 0xffff_ffff) + 1;
    this.handles.set(n, h);
    const raw = Buffer.alloc(4);
    raw.writeUInt32BE(n, 0);
    this.sftp.handle(id, raw);
    return undefined;
  }

  private async list(dir: DropDir): Promise<FileDropEntry[]> {
    const entries =
      dir === 'in' ? await this.ctx.files.listIn(this.user) : await this.ctx.files.listOut(this.user);
    // A name the tree cannot hold (a slash, a control character) would be a path, not a file: left out.
    return entries.filter((e) => fileNameProblem(e.name) === null);
  }

  private realPath(id: number, path: string): Status | undefined {
    const r = resolvePath(path);
    if (!r.ok) return notInTree(r);
    // REALPATH answers a name only; its attributes are empty, as OpenSSH's are.
    this.sftp.name(id, [{ filename: r.path, longname: r.path, attrs: {} as FileEntry['attrs'] }]);
    return undefined;
  }

  private async stat(id: number, path: string): Promise<Status | undefined> {
    const r = resolvePath(path);
    if (!r.ok) return notInTree(r);
    const { node } = r;
    if (node.kind !== 'file') {
      this.sftp.attrs(id, attrsOf('dir', 0, this.ctx.startedMs));
      return undefined;
    }
    const entry = (await this.list(node.dir)).find((e) => e.name === node.name);
    if (!entry) return NO_SUCH_FILE;
    this.sftp.attrs(id, attrsOf('file', entry.size, entry.mtimeMs));
    return undefined;
  }

  private async openDir(id: number, path: string): Promise<Status | undefined> {
    const r = resolvePath(path);
    if (!r.ok) return notInTree(r);
    const { node } = r;
    if (node.kind === 'file') return { code: STATUS.FAILURE, message: 'not a directory' };
    const owner = ownerName(this.user.channelId);
    const now = Date.now();
    const entries =
      node.kind === 'root'
        ? (['in', 'out'] as const).map((d) => entryOf(d, 'dir', 0, this.ctx.startedMs, owner, now))
        : (await this.list(node.dir)).map((e) => entryOf(e.name, 'file', e.size, e.mtimeMs, owner, now));
    return this.addHandle(id, { kind: 'dir', entries, next: 0 });
  }

  private readDir(id: number, raw: Buffer): Status | undefined {
    const h = this.handle(raw);
    if (h?.kind !== 'dir') return UNKNOWN_HANDLE;
    if (h.next >= h.entries.length) return { code: STATUS.EOF };
    const page = h.entries.slice(h.next, h.next + DIR_PAGE);
    h.next += page.length;
    this.sftp.name(id, page);
    return undefined;
  }

  private async open(id: number, path: string, flags: number): Promise<Status | undefined> {
    const r = resolvePath(path);
    if (flags & MODE.WRITE) return this.openWrite(id, r, flags);
    if (!(flags & MODE.READ)) return { code: STATUS.OP_UNSUPPORTED, message: 'no access mode' };
    if (!r.ok) return notInTree(r);
    const { node } = r;
    if (node.kind !== 'file') return { code: STATUS.FAILURE, message: 'is a directory' };
    if (node.dir === 'in') return { code: STATUS.PERMISSION_DENIED, message: 'files in /in cannot be read' };
    if (flags & (MODE.APPEND | MODE.CREAT | MODE.TRUNC | MODE.EXCL)) {
      return { code: STATUS.PERMISSION_DENIED, message: '/out is read-only' };
    }
    const data = await this.ctx.files.readOut(this.user, node.name);
    if (data === null) return NO_SUCH_FILE;
    return this.addHandle(id, { kind: 'read', name: node.name, data });
  }

  private openWrite(id: number, r: Resolved, flags: number): Status | undefined {
    if (!r.ok) {
      if (r.why === 'bad_name') return { code: STATUS.PERMISSION_DENIED, message: r.problem };
      return r.why === 'escape' ? OUTSIDE_ROOT : ONLY_IN;
    }
    const { node } = r;
    if (node.kind !== 'file' || node.dir !== 'in') return ONLY_IN;
    if (flags & (MODE.READ | MODE.APPEND) || !(flags & MODE.CREAT)) {
      return { code: STATUS.OP_UNSUPPORTED, message: 'a file is put whole: write, create, truncate' };
    }
    if (this.conn.uploads >= MAX_UPLOADS_PER_CONNECTION) {
      return { code: STATUS.FAILURE, message: 'too many files being put at once' };
    }
    const upload = new Upload({
      maxFileBytes: this.ctx.maxFileBytes,
      maxBufferedBytes: this.ctx.maxBufferedBytes,
      maxPendingWrites: MAX_PENDING_WRITES,
      highWaterMark: BODY_HIGH_WATER_MARK,
    });
    const name = node.name;
    const h: Handle = { kind: 'write', name, upload, outcome: Promise.resolve({ ok: false, message: '' }) };
    const refused = this.addHandle(id, h);
    if (refused) return refused;
    this.conn.uploads++;
    this.put.add(name);
    // Called at once (a throw becomes a refusal); the bytes written before it reads wait in `body`.
    const receipt = new Promise<{ batchId: string }>((resolve) =>
      resolve(this.ctx.files.receive(this.user, name, upload.body)),
    );
    h.outcome = receipt.then(
      (taken): Outcome => ({ ok: true, batchId: String(taken.batchId) }),
      (err: unknown): Outcome => ({ ok: false, message: refusalText(err) }),
    );
    void h.outcome.then((outcome) => {
      if (!outcome.ok) {
        // Refused before the end: every write from now on fails with the port's reason.
        upload.fail(outcome.message);
      } else if (!upload.isEnded) {
        this.ctx.log('filedrop file taken before its end', { channelId: this.user.channelId, name });
        upload.abandon();
      }
    });
    return undefined;
  }

  private write(id: number, raw: Buffer, offset: number, data: Buffer): Status | undefined {
    const h = this.handle(raw);
    if (!h) return UNKNOWN_HANDLE;
    if (h.kind !== 'write') return { code: STATUS.FAILURE, message: 'not open for writing' };
    h.upload.write(offset, data, (failure) => {
      if (failure === null) this.sftp.status(id, STATUS.OK);
      else this.sftp.status(id, STATUS.FAILURE, failure);
    });
    return undefined;
  }

  private read(id: number, raw: Buffer, offset: number, length: number): Status | undefined {
    const h = this.handle(raw);
    if (!h) return UNKNOWN_HANDLE;
    if (h.kind !== 'read') return { code: STATUS.FAILURE, message: 'not open for reading' };
    if (!Number.isSafeInteger(offset) || offset >= h.data.length) return { code: STATUS.EOF };
    this.sftp.data(id, h.data.subarray(offset, offset + Math.min(length, MAX_READ_BYTES)));
    return undefined;
  }

  private fstat(id: number, raw: Buffer): Status | undefined {
    const h = this.handle(raw);
    if (!h) return UNKNOWN_HANDLE;
    if (h.kind === 'dir') this.sftp.attrs(id, attrsOf('dir', 0, this.ctx.startedMs));
    else
      this.sftp.attrs(id, attrsOf('file', h.kind === 'read' ? h.data.length : h.upload.received, Date.now()));
    return undefined;
  }

  /** Clients set a put file's times or mode once written (`put -p`, WinSCP): let be, nothing to keep. */
  private fsetstat(raw: Buffer): Status {
    const h = this.handle(raw);
    if (!h) return UNKNOWN_HANDLE;
    return h.kind === 'write' ? { code: STATUS.OK } : DENIED;
  }

  private setstat(path: string): Status {
    const r = resolvePath(path);
    const putHere = r.ok && r.node.kind === 'file' && r.node.dir === 'in' && this.put.has(r.node.name);
    return putHere ? { code: STATUS.OK } : DENIED;
  }

  private async close(raw: Buffer): Promise<Status> {
    const h = this.handle(raw);
    if (!h) return UNKNOWN_HANDLE;
    this.handles.delete(raw.readUInt32BE(0));
    if (h.kind !== 'write') return { code: STATUS.OK };
    this.conn.uploads--;
    const failure = h.upload.finish();
    const outcome = await h.outcome;
    const fields = { channelId: this.user.channelId, name: h.name, size: h.upload.received };
    if (outcome.ok && failure === null) {
      this.ctx.log('filedrop file received', { ...fields, batchId: outcome.batchId });
      return { code: STATUS.OK };
    }
    // The port's reason is for the channel; it is not logged (it may quote the file).
    this.ctx.log('filedrop file refused', fields);
    return {
      code: STATUS.FAILURE,
      message: outcome.ok ? (failure ?? 'the file was refused') : outcome.message,
    };
  }
}

/** An SFTP status to answer with. */
interface Status {
  code: number;
  message?: string;
}

const UNKNOWN_HANDLE: Status = { code: STATUS.FAILURE, message: 'unknown handle' };
const NO_SUCH_FILE: Status = { code: STATUS.NO_SUCH_FILE, message: 'no such file' };
const DENIED: Status = { code: STATUS.PERMISSION_DENIED, message: 'permission denied' };
const OUTSIDE_ROOT: Status = { code: STATUS.PERMISSION_DENIED, message: 'outside your root' };
const ONLY_IN: Status = { code: STATUS.PERMISSION_DENIED, message: 'files can only be put in /in' };

function notInTree(r: Extract<Resolved, { ok: false }>): Status {
  return r.why === 'escape' ? OUTSIDE_ROOT : NO_SUCH_FILE;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The port's reason for a refused file, as the client will see it: one line, bounded. */
function refusalText(err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const line = message.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line === '' ? 'the file was refused' : line.slice(0, 500);
}
