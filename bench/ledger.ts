/**
 * Ledger transfers per second through the ledger module, beside a raw insert of the same rows in the
 * same run (issue target: ≥ 0.3× the raw insert). Each unit is one redeemed card's three linked
 * transfers (seller, commission, margin) over four accounts, in its own transaction through the
 * group committer, CONCURRENCY units at a time, as the ledger subscriber books them.
 * RECARD_BENCH_LEDGER_ORDERS (default 5,000 orders = 15,000 transfers per row), RECARD_BENCH_PG_URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLedger, redemption } from '../src/modules/ledger/index.js';
import { newId } from '../src/shared/ids.js';
import { openStorage, type Storage } from '../src/storage/database.js';
import { createCommitter } from '../src/storage/group-commit.js';
import { migrateToLatest } from '../src/storage/migrate.js';

const ORDERS = Number(process.env.RECARD_BENCH_LEDGER_ORDERS ?? 5_000);
const CONCURRENCY = 64;
const PG_URL = process.env.RECARD_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const lines: string[] = [];

function booking(i: number, run: string) {
  return redemption({
    orderId: `ord_${run}_${i}`,
    channelId: `ch_${i % 20}`,
    sellerId: `s${i % 500}`,
    issuer: ['china_mobile', 'china_telecom', 'jd'][i % 3] as string,
    face: 10_000,
    currency: 'CNY',
    seller: 9_550,
    commission: 90,
    payout: 9_550,
    payoutCurrency: 'CNY',
  });
}

async function pool<T>(n: number, work: (i: number) => Promise<T>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

async function measure(name: string, storage: Storage) {
  await migrateToLatest(storage);
  const committer = createCommitter(storage.db, storage.dialect);
  const ledger = createLedger({ db: storage.db, dialect: storage.dialect, clock: { now: () => Date.now() } });
  // Warm: every account exists and statements are prepared.
  await pool(600, (i) =>
    committer.run((trx) => {
      const b = booking(i, 'warm');
      return ledger.post(trx, b.transfers, b.open);
    }),
  );

  const rawRun = randomBytes(3).toString('hex');
  const t0 = performance.now();
  await pool(ORDERS, (i) =>
    committer.run(async (trx) => {
      const b = booking(i, rawRun);
      const now = Date.now();
      await trx
        .insertInto('ledger_transfers')
        .values(
          b.transfers.map((t) => ({
            id: `raw:${t.id}`,
            entry: newId('ent', now),
            kind: t.kind,
            debit_account_id: t.debit_account_id as string,
            credit_account_id: t.credit_account_id as string,
            amount: t.amount as number,
            currency: 'CNY',
            code: t.code,
            pending_id: null,
            timeout_s: null,
            expires_at: null,
            pending_state: null,
            ref_type: t.ref_type ?? null,
            ref_id: t.ref_id ?? null,
            created_at: now,
          })),
        )
        .execute();
    }),
  );
  const rawMs = performance.now() - t0;

  const run = randomBytes(3).toString('hex');
  const t1 = performance.now();
  await pool(ORDERS, (i) =>
    committer.run((trx) => {
      const b = booking(i, run);
      return ledger.post(trx, b.transfers, b.open);
    }),
  );
  const ledgerMs = performance.now() - t1;
  const transfers = ORDERS * 3;
  const raw = Math.round(transfers / (rawMs / 1000));
  const through = Math.round(transfers / (ledgerMs / 1000));
  lines.push(`| ${name} | ${transfers} | ${raw} | ${through} | ${(through / raw).toFixed(2)}× |`);
}

const dir = mkdtempSync(join(tmpdir(), 'recard-bench-ledger-'));
try {
  const sqlite = await openStorage({ url: `sqlite:${join(dir, 'l.db')}` });
  try {
    await measure('SQLite (FULL)', sqlite);
  } finally {
    await sqlite.close();
  }
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const pg = await openStorage({ url: PG_URL, schema, poolSize: 10 }).catch(() => undefined);
  if (pg) {
    try {
      await measure('PostgreSQL (pool 10)', pg);
    } finally {
      await pg.db.schema.dropSchema(schema).ifExists().cascade().execute();
      await pg.close();
    }
  } else lines.push('| PostgreSQL | — | not reachable | — | — |');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(
  [
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), Node ${process.version}. Units of 3 linked transfers (one card), ${CONCURRENCY} at a time through the group committer.`,
    '',
    '| store | transfers | raw insert transfers/s | through the ledger transfers/s | ratio |',
    '|---|---|---|---|---|',
    ...lines,
    '',
  ].join('\n'),
);
