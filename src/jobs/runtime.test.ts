import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capturingLogger, silentLogger } from '../../test/harness/logger.js';
import { storageTargets, type TestLocation } from '../../test/harness/storage.js';
import { manualGate, sleep, waitFor } from '../../test/harness/wait.js';
import { systemClock } from '../shared/clock.js';
import type { Storage } from '../storage/database.js';
import { type AnyJobHandler, DeferJob, defineJobKind, JobFailure, PermanentJobError } from './model.js';
import { JobRuntime, type RuntimeOptions } from './runtime.js';
import { claimJobs, countJobsByState, enqueueJob, getJob } from './store.js';

const ECHO = defineJobKind<{ n: number }>({
  kind: 'test.echo',
  maxAttempts: 3,
  timeoutMs: 2000,
  backoff: { baseMs: 20, capMs: 50 },
});

describe.each(storageTargets())('job runtime on $name', (target) => {
  let loc: TestLocation;
  let storage: Storage;
  const runtimes: JobRuntime[] = [];

  beforeEach(async () => {
    loc = await target.fresh();
    storage = await loc.open();
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop(0)));
    await loc.destroy();
  });

  function runtime(handlers: AnyJobHandler[], extra: Partial<RuntimeOptions> = {}, s: Storage = storage) {
    const r = new JobRuntime({
      db: s.db,
      dialect: s.dialect,
      handlers,
      clock: systemClock,
      logger: silentLogger,
      concurrency: 4,
      pollMs: 20,
      leaseMs: 1000,
      ...extra,
    });
    runtimes.push(r);
    r.start();
    return r;
  }

  const stateOf = async (id: string | null) => (await getJob(storage.db, id ?? ''))?.state;

  it('a job enqueued in a rolled-back transaction does not exist (outbox)', async () => {
    await expect(
      storage.db.transaction().execute(async (trx) => {
        await enqueueJob(trx, ECHO, { n: 1 }, Date.now());
        throw new Error('business write failed');
      }),
    ).rejects.toThrow('business write failed');
    expect(await countJobsByState(storage.db)).toEqual({ available: 0, running: 0, succeeded: 0, dead: 0 });
  });

  it('runs a due job once with its payload and marks it succeeded', async () => {
    const seen: number[] = [];
    const id = await enqueueJob(storage.db, ECHO, { n: 42 }, Date.now());
    runtime([{ spec: ECHO, handle: async (p) => void seen.push(p.n) }]);
    await waitFor(async () => (await stateOf(id)) === 'succeeded');
    expect(seen).toEqual([42]);
    const job = await getJob(storage.db, id ?? '');
    expect(job?.attempt).toBe(1);
    expect(job?.locked_by).toBeNull();
    expect(job?.finished_at).toBeGreaterThan(0);
  });

  it('does not run a job before its run_at', async () => {
    const seen: number[] = [];
    const id = await enqueueJob(storage.db, ECHO, { n: 1 }, Date.now(), { runAt: Date.now() + 400 });
    runtime([{ spec: ECHO, handle: async (p) => void seen.push(p.n) }]);
    await sleep(200);
    expect(seen).toEqual([]);
    await waitFor(async () => (await stateOf(id)) === 'succeeded');
  });

  it('retries a failing job with backoff and keeps the last error', async () => {
    let calls = 0;
    const id = await enqueueJob(storage.db, ECHO, { n: 1 }, Date.now());
    const r = runtime([
      {
        spec: ECHO,
        handle: async () => {
          calls++;
          if (calls < 3) throw new Error(`boom ${calls}`);
        },
      },
    ]);
    await waitFor(async () => (await stateOf(id)) === 'succeeded');
    const job = await getJob(storage.db, id ?? '');
    expect(calls).toBe(3);
    expect(job?.attempt).toBe(3);
    expect(job?.last_error).toBe('Error: boom 2');
    expect(r.activeJobs).toBe(0);
  });

  it('a deferred job runs again later without spending an attempt', async () => {
    let calls = 0;
    const id = await enqueueJob(storage.db, ECHO, { n: 1 }, Date.now());
    runtime([
      {
        spec: ECHO,
        handle: async () => {
          calls++;
          // More deferrals than ECHO has attempts: waiting is not failing.
          if (calls <= 4) throw new DeferJob(30, `waiting ${calls}`);
        },
      },
    ]);
    await waitFor(async () => (await stateOf(id)) === 'succeeded');
    const job = await getJob(storage.db, id ?? '');
    expect(calls).toBe(5);
    expect(job?.attempt).toBe(1);
    expect(job?.last_error).toBe('waiting 4');
  });

  it('gives up after the attempt limit: dead, last error and its typed code kept, onDead in the same transaction', async () => {
    await sql`create table dead_letters (job_payload text not null)`.execute(storage.db);
    const id = await enqueueJob(storage.db, ECHO, { n: 7 }, Date.now());
    let calls = 0;
    runtime([
      {
        spec: ECHO,
        handle: async () => {
          calls++;
          throw new JobFailure('upstream_down', 'always');
        },
        onDead: async (p, failure, trx) => {
          await sql`insert into dead_letters (job_payload) values (${`${p.n}:${failure.code}:${failure.message}`})`.execute(
            trx,
          );
        },
      },
    ]);
    await waitFor(async () => (await stateOf(id)) === 'dead');
    expect(calls).toBe(3);
    const job = await getJob(storage.db, id ?? '');
    expect(job?.last_error).toBe('JobFailure: always');
    expect(job?.last_error_code).toBe('upstream_down');
    const letters = await sql<{ job_payload: string }>`select job_payload from dead_letters`.execute(
      storage.db,
    );
    expect(letters.rows.map((r) => r.job_payload)).toEqual(['7:upstream_down:JobFailure: always']);
  });

  it('a permanent error kills the job at once', async () => {
    const id = await enqueueJob(storage.db, ECHO, { n: 1 }, Date.now());
    let calls = 0;
    runtime([
      {
        spec: ECHO,
        handle: async () => {
          calls++;
          throw new PermanentJobError('payload refers to nothing');
        },
      },
    ]);
    await waitFor(async () => (await stateOf(id)) === 'dead');
    expect(calls).toBe(1);
    expect((await getJob(storage.db, id ?? ''))?.last_error).toContain('payload refers to nothing');
  });

  it('a job whose payload is not JSON dies at once without calling onDead', async () => {
    const id = await enqueueJob(storage.db, ECHO, { n: 1 }, Date.now());
    await storage.db
      .updateTable('jobs')
      .set({ payload: '{broken' })
      .where('id', '=', id ?? '')
      .execute();
    let calls = 0;
    runtime([{ spec: ECHO, handle: async () => void calls++, onDead: async () => void calls++ }]);
    await waitFor(async () => (await stateOf(id)) === 'dead');
    expect(calls).toBe(0);
    expect((await getJob(storage.db, id ?? ''))?.last_error).toContain('not valid JSON');
  });

  it('aborts a run that exceeds the kind timeout and counts it as a failed attempt', async () => {
    const SLOW = defineJobKind<object>({
      kind: 'test.slow',
      maxAttempts: 1,
      timeoutMs: 100,
      backoff: { baseMs: 10, capMs: 10 },
    });
    const id = await enqueueJob(storage.db, SLOW, {}, Date.now());
    let sawAbort = false;
    runtime([
      {
        spec: SLOW,
        handle: (_p, ctx) =>
          new Promise<void>((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => {
              sawAbort = true;
              reject(new Error('aborted'));
            });
          }),
      },
    ]);
    await waitFor(async () => (await stateOf(id)) === 'dead');
    expect(sawAbort).toBe(true);
    expect((await getJob(storage.db, id ?? ''))?.last_error).toContain('timed out after 100 ms');
  });

  it('takes over a job whose worker vanished once the lease expires, and counts the attempt', async () => {
    const id = await enqueueJob(storage.db, ECHO, { n: 5 }, Date.now());
    const [ghost] = await claimJobs(storage.db, storage.dialect, {
      workerId: 'ghost',
      kinds: [ECHO.kind],
      limit: 1,
      nowMs: Date.now(),
      leaseMs: 300,
    });
    expect(ghost?.id).toBe(id);
    const seen: number[] = [];
    runtime([{ spec: ECHO, handle: async (p) => void seen.push(p.n) }]);
    await sleep(150);
    expect(seen).toEqual([]); // lease still held by the ghost
    await waitFor(async () => (await stateOf(id)) === 'succeeded');
    expect(seen).toEqual([5]);
    expect((await getJob(storage.db, id ?? ''))?.attempt).toBe(2);
  });

  it('a job whose worker vanished on its last attempt becomes dead instead of running again', async () => {
    const ONCE = defineJobKind<object>({
      kind: 'test.once',
      maxAttempts: 1,
      timeoutMs: 1000,
      backoff: { baseMs: 10, capMs: 10 },
    });
    const id = await enqueueJob(storage.db, ONCE, {}, Date.now());
    await claimJobs(storage.db, storage.dialect, {
      workerId: 'ghost',
      kinds: [ONCE.kind],
      limit: 1,
      nowMs: Date.now(),
      leaseMs: 50,
    });
    let calls = 0;
    runtime([{ spec: ONCE, handle: async () => void calls++ }]);
    await waitFor(async () => (await stateOf(id)) === 'dead');
    expect(calls).toBe(0);
    expect((await getJob(storage.db, id ?? ''))?.last_error).toContain('lease expired');
  });

  it('the heartbeat keeps a long job leased beyond the lease time', async () => {
    const LONG = defineJobKind<object>({
      kind: 'test.long',
      maxAttempts: 1,
      timeoutMs: 5000,
      backoff: { baseMs: 10, capMs: 10 },
    });
    const id = await enqueueJob(storage.db, LONG, {}, Date.now());
    let runs = 0;
    const handler = {
      spec: LONG,
      handle: async () => {
        runs++;
        await sleep(2500);
      },
    };
    // 2.5 leases long; the heartbeat renews every third of a lease, with room for a loaded CI machine.
    runtime([handler], { leaseMs: 1000 });
    const other = runtime([handler], { leaseMs: 1000, workerId: 'other' });
    await waitFor(async () => (await stateOf(id)) === 'succeeded');
    expect(runs).toBe(1);
    expect(other.activeJobs).toBe(0);
  });

  it('on stop, a job that finishes within the grace period completes', async () => {
    const id = await enqueueJob(storage.db, ECHO, { n: 1 }, Date.now());
    let started = false;
    const r = runtime([
      {
        spec: ECHO,
        handle: async () => {
          started = true;
          await sleep(200);
        },
      },
    ]);
    await waitFor(() => started);
    await r.stop(2000);
    expect(await stateOf(id)).toBe('succeeded');
  });

  it('on stop, a job still running after the grace period is released without counting the attempt', async () => {
    const id = await enqueueJob(storage.db, ECHO, { n: 1 }, Date.now());
    let started = false;
    const r = runtime([
      {
        spec: ECHO,
        handle: (_p, ctx) =>
          new Promise<void>((_res, rej) => {
            started = true;
            ctx.signal.addEventListener('abort', () => rej(new Error('stopped')));
          }),
      },
    ]);
    await waitFor(() => started);
    await r.stop(50);
    const job = await getJob(storage.db, id ?? '');
    expect(job?.state).toBe('available');
    expect(job?.attempt).toBe(0);
    expect(job?.locked_by).toBeNull();
    expect(r.isRunning).toBe(false);
  });

  it('a unique key enqueues at most once; a schedule enqueues once per period across workers', async () => {
    expect(await enqueueJob(storage.db, ECHO, { n: 1 }, Date.now(), { uniqueKey: 'k1' })).not.toBeNull();
    expect(await enqueueJob(storage.db, ECHO, { n: 2 }, Date.now(), { uniqueKey: 'k1' })).toBeNull();

    const TICK = defineJobKind<object>({
      kind: 'test.tick',
      maxAttempts: 1,
      timeoutMs: 1000,
      backoff: { baseMs: 10, capMs: 10 },
    });
    let ticks = 0;
    const handler = { spec: TICK, handle: async () => void ticks++ };
    const schedules = [{ spec: TICK, everyMs: 60 * 60 * 1000, payload: {} }];
    runtime([handler], { schedules });
    runtime([handler], { schedules, workerId: 'second' });
    await waitFor(() => ticks >= 1);
    await sleep(200);
    expect(ticks).toBe(1);
  });

  it('two runtimes on separate connections run every job exactly once, never concurrently', async () => {
    const COUNT = 120;
    const second = await loc.open({ migrate: false });
    const BUSY = defineJobKind<{ n: number }>({
      kind: 'test.busy',
      maxAttempts: 3,
      timeoutMs: 5000,
      backoff: { baseMs: 10, capMs: 10 },
    });
    const ids = await storage.db.transaction().execute(async (trx) => {
      const out: (string | null)[] = [];
      for (let n = 0; n < COUNT; n++) out.push(await enqueueJob(trx, BUSY, { n }, Date.now()));
      return out;
    });
    const running = new Set<number>();
    const runs = new Map<number, string[]>();
    let overlaps = 0;
    const handler = (worker: string) => ({
      spec: BUSY,
      handle: async (p: { n: number }) => {
        if (running.has(p.n)) overlaps++;
        running.add(p.n);
        runs.set(p.n, [...(runs.get(p.n) ?? []), worker]);
        await sleep(Math.random() * 8);
        running.delete(p.n);
      },
    });
    // Leases far longer than a run: the test is about exclusive claims, not lease expiry (on SQLite a
    // runtime waiting for the write lock is blocked, heartbeat included, up to busy_timeout).
    runtime([handler('a')], { concurrency: 8, workerId: 'a', leaseMs: 15_000 });
    runtime([handler('b')], { concurrency: 8, workerId: 'b', leaseMs: 15_000 }, second);
    await waitFor(
      async () => (await countJobsByState(storage.db)).succeeded === COUNT,
      20_000,
      'all jobs done',
    );
    expect(overlaps).toBe(0);
    expect(runs.size).toBe(COUNT);
    for (const workers of runs.values()) expect(workers).toHaveLength(1);
    const byWorker = [...runs.values()].flat();
    expect(byWorker.filter((w) => w === 'a').length).toBeGreaterThan(0);
    expect(byWorker.filter((w) => w === 'b').length).toBeGreaterThan(0);
    expect(ids.every((id) => id !== null)).toBe(true);
  });

  it('each kind has its own slots: a kind stuck at its limit never holds up another kind', async () => {
    const SLOW = defineJobKind<{ n: number }>({ ...ECHO, kind: 'test.slow', concurrency: 2 });
    const { open: release, opened: gate } = manualGate();
    let slowRunning = 0;
    let slowPeak = 0;
    const fast: number[] = [];
    runtime(
      [
        {
          spec: SLOW,
          handle: async () => {
            slowRunning++;
            slowPeak = Math.max(slowPeak, slowRunning);
            await gate;
            slowRunning--;
          },
        },
        { spec: ECHO, handle: async (p) => void fast.push(p.n) },
      ],
      { concurrency: 8 },
    );
    for (let i = 0; i < 10; i++) await enqueueJob(storage.db, SLOW, { n: i }, Date.now());
    await waitFor(async () => slowRunning === 2, 5000, 'two slow jobs running');
    const fastId = await enqueueJob(storage.db, ECHO, { n: 99 }, Date.now());
    // The slow kind holds its two slots; the other kind still runs, before any slow job finishes.
    await waitFor(async () => (await stateOf(fastId)) === 'succeeded', 5000, 'the other kind to run');
    expect(fast).toEqual([99]);
    expect(slowRunning).toBe(2);
    release();
    await waitFor(async () => (await countJobsByState(storage.db)).succeeded === 11, 10_000, 'all done');
    expect(slowPeak).toBe(2);
  });

  it('jobs sharing an ordering key run one at a time in sequence order, through retries', async () => {
    // Enqueued newest first, before the worker starts: order is by ordering_seq within a key.
    const now = Date.now();
    for (const n of [3, 2, 1])
      await enqueueJob(storage.db, ECHO, { n }, now, { ordering: { key: 'k1', seq: n } });
    const seen: string[] = [];
    let failuresLeft = 2;
    runtime(
      [
        {
          spec: ECHO,
          handle: async (p) => {
            if (p.n === 1 && failuresLeft-- > 0) throw new Error('first one fails twice');
            seen.push(`a${p.n}`);
          },
        },
      ],
      { concurrency: 8 },
    );
    await waitFor(async () => (await countJobsByState(storage.db)).succeeded === 3, 10_000, 'all of k1');
    expect(seen).toEqual(['a1', 'a2', 'a3']);
  });

  it('the next job of an ordering key starts when the one before it ends, not at the next poll', async () => {
    const now = Date.now();
    for (const n of [1, 2, 3, 4, 5])
      await enqueueJob(storage.db, ECHO, { n }, now, { ordering: { key: 'chain', seq: n } });
    const started: number[] = [];
    // The poll is a minute: five jobs done within seconds can only be each one's end waking the next.
    runtime([{ spec: ECHO, handle: async () => void started.push(performance.now()) }], { pollMs: 60_000 });
    await waitFor(async () => (await countJobsByState(storage.db)).succeeded === 5, 5000, 'the chain');
    expect(started).toHaveLength(5);
  });

  it('a dead job no longer holds up the later jobs of its key', async () => {
    const seen: number[] = [];
    runtime([
      {
        spec: ECHO,
        handle: async (p) => {
          if (p.n === 1) throw new PermanentJobError('never');
          seen.push(p.n);
        },
      },
    ]);
    const now = Date.now();
    await enqueueJob(storage.db, ECHO, { n: 1 }, now, { ordering: { key: 'k', seq: 1 } });
    await enqueueJob(storage.db, ECHO, { n: 2 }, now, { ordering: { key: 'k', seq: 2 } });
    await waitFor(async () => seen.length === 1, 5000, 'the second job');
    expect(seen).toEqual([2]);
  });

  it('a transactional handler commits its writes with the completion, and rolls them back with a failure', async () => {
    await sql`create table effects (n integer not null)`.execute(storage.db);
    let attempts = 0;
    const id = await enqueueJob(storage.db, ECHO, { n: 5 }, Date.now());
    runtime([
      {
        spec: ECHO,
        handleInTransaction: async (p, trx) => {
          attempts++;
          await sql`insert into effects (n) values (${p.n})`.execute(trx);
          if (attempts === 1) throw new Error('fails after writing');
        },
      },
    ]);
    await waitFor(async () => (await stateOf(id)) === 'succeeded', 5000, 'the job');
    expect(attempts).toBe(2);
    const rows = await sql<{ n: number }>`select n from effects`.execute(storage.db);
    expect(rows.rows.map((r) => Number(r.n))).toEqual([5]); // the failed attempt's write is gone
  });

  it('a transactional handler that lost its job to another worker writes nothing', async () => {
    await sql`create table effects (n integer not null)`.execute(storage.db);
    const id = (await enqueueJob(storage.db, ECHO, { n: 6 }, Date.now())) ?? '';
    const { open: entered, opened: inside } = manualGate();
    const { open: proceed, opened: gate } = manualGate();
    runtime([
      {
        spec: ECHO,
        handleInTransaction: async (p, trx) => {
          await sql`insert into effects (n) values (${p.n})`.execute(trx);
          if (storage.dialect === 'postgres') {
            entered();
            await gate;
          }
        },
      },
    ]);
    if (storage.dialect === 'sqlite') {
      // One writer: the takeover cannot interleave with the unit; check the fence directly instead.
      await waitFor(async () => (await stateOf(id)) === 'succeeded', 5000, 'the job');
      return;
    }
    await inside;
    // Another worker takes the job over (as after an expired lease) while the handler is inside.
    const other = await loc.open({ migrate: false });
    await other.db
      .updateTable('jobs')
      .set({ locked_by: 'someone-else', attempt: 2 })
      .where('id', '=', id)
      .execute();
    proceed();
    await waitFor(async () => (await getJob(storage.db, id))?.locked_by === 'someone-else', 3000, 'takeover');
    await sleep(200);
    const rows = await sql<{ n: number }>`select n from effects`.execute(storage.db);
    expect(rows.rows).toEqual([]);
    expect((await getJob(storage.db, id))?.state).toBe('running');
  });

  it('a claim takes the due jobs by time then id, an expired lease among them, and no more than its limit', async () => {
    const now = Date.now();
    // Twelve jobs due at one time (as a batch slice writes them) and two earlier: ties by id.
    const tied: string[] = [];
    for (let n = 0; n < 12; n++) tied.push((await enqueueJob(storage.db, ECHO, { n }, now - 100)) as string);
    tied.sort();
    const early = await enqueueJob(storage.db, ECHO, { n: 100 }, now - 300);
    const lost = await enqueueJob(storage.db, ECHO, { n: 101 }, now - 500);
    // `lost` was claimed by a worker that vanished: its lease ran out at now - 200.
    await claimJobs(storage.db, storage.dialect, {
      workerId: 'gone',
      kinds: [ECHO.kind],
      limit: 1,
      nowMs: now - 400,
      leaseMs: 200,
    });
    const claim = (limit: number) =>
      claimJobs(storage.db, storage.dialect, {
        workerId: 'w',
        kinds: [ECHO.kind],
        limit,
        nowMs: now,
        leaseMs: 1000,
      });
    const first = await claim(5);
    // Which jobs, not the order they come back in (RETURNING keeps none).
    expect(first.map((j) => j.id).sort()).toEqual([early, lost, ...tied.slice(0, 3)].sort());
    expect(first.find((j) => j.id === lost)?.attempt).toBe(2);
    const rest = await claim(20);
    expect(rest.map((j) => j.id).sort()).toEqual(tied.slice(3));
    expect(await claim(5)).toEqual([]);
  });

  it('a claim passes over a job another transaction holds locked instead of waiting for it', async () => {
    if (storage.dialect !== 'postgres') return; // SQLite has one writer: nothing to skip
    const now = Date.now();
    const lockedId = await enqueueJob(storage.db, ECHO, { n: 1 }, now - 10);
    const freeId = await enqueueJob(storage.db, ECHO, { n: 2 }, now);
    const other = await loc.open({ migrate: false });
    let released = false;
    const { open: releaseLock, opened: held } = manualGate();
    const { open: lockTaken, opened: taken } = manualGate();
    const holder = other.db.transaction().execute(async (trx) => {
      await trx.selectFrom('jobs').select('id').where('id', '=', lockedId).forUpdate().execute();
      lockTaken();
      await held;
      released = true;
    });
    await taken;
    const claim = claimJobs(storage.db, storage.dialect, {
      workerId: 'w',
      kinds: [ECHO.kind],
      limit: 10,
      nowMs: Date.now(),
      leaseMs: 1000,
    });
    // A claim that waits for the lock would still be waiting after this (the lock is held until the end).
    const answer = await Promise.race([claim, sleep(3000).then(() => 'still waiting' as const)]);
    const lockedMeanwhile = !released;
    releaseLock();
    await holder;
    await claim;
    expect(answer).not.toBe('still waiting');
    expect(lockedMeanwhile).toBe(true);
    expect(answer === 'still waiting' ? [] : answer.map((j) => j.id)).toEqual([freeId]);
  });

  it('logs a failed attempt without the payload', async () => {
    const { logger, lines } = capturingLogger();
    const SECRETISH = defineJobKind<{ card_secret: string }>({
      kind: 'test.secretish',
      maxAttempts: 2,
      timeoutMs: 1000,
      backoff: { baseMs: 10, capMs: 10 },
    });
    const id = await enqueueJob(storage.db, SECRETISH, { card_secret: 'CANARY-123456' }, Date.now());
    runtime([{ spec: SECRETISH, handle: async () => Promise.reject(new Error('issuer down')) }], { logger });
    await waitFor(async () => (await stateOf(id)) === 'dead');
    expect(lines.some((l) => l.includes('issuer down'))).toBe(true);
    expect(lines.join('\n')).not.toContain('CANARY-123456');
  });
});
