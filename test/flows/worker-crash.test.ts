import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enqueueJob, getJob } from '../../src/jobs/store.js';
import type { Storage } from '../../src/storage/database.js';
import { CRASHABLE } from '../fixtures/crashable.js';
import { spawnReady } from '../harness/processes.js';
import { storageTargets, type TestLocation } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

interface Run {
  job_id: string;
  attempt: number;
  pid: number;
  started_at: number;
}

describe.each(storageTargets())('worker processes on $name', (target) => {
  let loc: TestLocation;
  let storage: Storage;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    loc = await target.fresh();
    storage = await loc.open();
    await sql`create table job_runs (job_id text not null, attempt integer not null, pid integer not null, started_at bigint not null)`.execute(
      storage.db,
    );
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    await loc.destroy();
  });

  const worker = (mode: 'hang' | 'finish', leaseMs: number): Promise<ChildProcess> =>
    spawnReady(
      'test/fixtures/worker-process.ts',
      { DB_URL: loc.url, DB_SCHEMA: loc.schema, MODE: mode, LEASE_MS: String(leaseMs) },
      children,
    );

  const runs = async () =>
    (await sql<Run>`select * from job_runs order by started_at`.execute(storage.db)).rows;

  it('survives kill -9 mid-job: the job runs again after the lease expires, never lost', async () => {
    const id = (await enqueueJob(storage.db, CRASHABLE, { n: 1 }, Date.now())) ?? '';
    const first = await worker('hang', 1000);
    await waitFor(async () => (await runs()).length === 1, 15_000, 'first run');
    const before = await getJob(storage.db, id);
    expect(before?.state).toBe('running');

    first.kill('SIGKILL');
    await once(first, 'exit');
    await worker('finish', 1000);

    await waitFor(
      async () => (await getJob(storage.db, id))?.state === 'succeeded',
      15_000,
      'job to succeed',
    );
    const all = await runs();
    expect(all.map((r) => r.attempt)).toEqual([1, 2]);
    expect(all[1]?.pid).not.toBe(all[0]?.pid);
    // The second run waited for the dead worker's lease rather than stealing a live one.
    expect(all[1]?.started_at ?? 0).toBeGreaterThanOrEqual(before?.lease_until ?? Number.POSITIVE_INFINITY);
  });

  it('on SIGTERM a worker hands its running job back and exits; the next worker runs it at once', async () => {
    const id = (await enqueueJob(storage.db, CRASHABLE, { n: 2 }, Date.now())) ?? '';
    const first = await worker('hang', 30_000);
    await waitFor(async () => (await runs()).length === 1, 15_000, 'first run');
    first.kill('SIGTERM');
    const [code] = await once(first, 'exit');
    expect(code).toBe(0);
    const released = await getJob(storage.db, id);
    expect(released?.state).toBe('available');
    expect(released?.attempt).toBe(0);

    await worker('finish', 30_000);
    await waitFor(
      async () => (await getJob(storage.db, id))?.state === 'succeeded',
      10_000,
      'job to succeed',
    );
    // Not after a 30 s lease: the release made it due at once, and the attempt was not counted.
    expect((await runs()).map((r) => r.attempt)).toEqual([1, 1]);
  });
});
