/**
 * What a job claim costs with a backlog (docs/benchmarks.md#job-claims): 100,000 jobs of a kind due
 * at a handful of times, as a batch file writes its orders' verification and its events' deliveries,
 * then claims of 4 (one worker's free slots), each in its own transaction as the runtime makes them.
 * On SQLite and PostgreSQL. `node --import tsx bench/claims.ts` (not part of npm run bench);
 * RECARD_BENCH_PG_URL names the PostgreSQL (a schema of its own is made and dropped).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { defineJobKind } from '../src/jobs/model.js';
import { claimJobs, enqueueJobs } from '../src/jobs/store.js';
import { openStorage, type Storage } from '../src/storage/database.js';
import { migrateToLatest } from '../src/storage/migrate.js';
import { dropBenchSchema } from './batch-files.js';

const BACKLOG = 100_000;
const CLAIMS = 200;
const PG_URL = process.env.RECARD_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const plain = defineJobKind<{ order_id: string }>({
  kind: 'bench.verify',
  maxAttempts: 8,
  timeoutMs: 1000,
  backoff: { baseMs: 1, capMs: 1 },
});
const ordered = defineJobKind<{ event_position: number }>({ ...plain, kind: 'bench.deliver' });

async function fill(storage: Storage) {
  const now = Date.now();
  for (let b = 0; b < BACKLOG / 1000; b++)
    await storage.db.transaction().execute(async (trx) => {
      // Ten distinct times per thousand jobs: a slice's orders share their millisecond.
      await enqueueJobs(
        trx,
        Array.from({ length: 1000 }, (_, i) => ({
          spec: plain,
          payload: { order_id: `o${b}_${i}` },
          nowMs: now - 200_000 + b * 10 + (i % 10),
        })),
      );
      await enqueueJobs(
        trx,
        Array.from({ length: 1000 }, (_, i) => ({
          spec: ordered,
          payload: { event_position: b * 1000 + i },
          nowMs: now - 200_000 + b * 10 + (i % 10),
          ordering: { key: `deliver:o${b}_${i}`, seq: b * 1000 + i },
        })),
      );
    });
  if (storage.dialect === 'postgres') await sql`analyze jobs`.execute(storage.db);
}

async function measure(name: string, storage: Storage) {
  await migrateToLatest(storage);
  await fill(storage);
  for (const kind of [plain, ordered]) {
    const t0 = performance.now();
    for (let i = 0; i < CLAIMS; i++)
      await storage.db.transaction().execute((trx) =>
        claimJobs(trx, storage.dialect, {
          workerId: 'bench',
          kinds: [kind.kind],
          limit: 4,
          nowMs: Date.now(),
          leaseMs: 60_000,
        }),
      );
    const us = ((performance.now() - t0) / CLAIMS) * 1000;
    process.stdout.write(
      `| ${name} | ${kind === plain ? 'no ordering key' : 'an ordering key each'} | ${BACKLOG.toLocaleString('en')} | ${us.toFixed(0)} µs |\n`,
    );
  }
  await storage.close();
}

process.stdout.write('| store | jobs | due backlog | claim of 4 with its commit |\n|---|---|---|---|\n');
const dir = mkdtempSync(join(tmpdir(), 'recard-bench-claims-'));
try {
  await measure('SQLite FULL', await openStorage({ url: `sqlite:${join(dir, 'recard.db')}` }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const schema = `bench_${randomBytes(4).toString('hex')}`;
try {
  await measure('PostgreSQL', await openStorage({ url: PG_URL, schema }));
} finally {
  await dropBenchSchema(PG_URL, schema);
}
