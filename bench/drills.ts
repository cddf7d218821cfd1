/**
 * `npm run drills`: the long drills, with the figures docs/reliability.md records. The suite runs
 * the same drills small (test/flows/payout-drill.test.ts, test/flows/process-drill.test.ts).
 *
 *   npm run drills                       # SQLite; PostgreSQL too when RECARD_TEST_DATABASE_URL is set
 *   RECARD_DRILL_PAYOUTS=2000 npm run drills
 *   RECARD_DRILL_DATABASES=postgres npm run drills   # one of them
 *   RECARD_DRILL_KINDS=processes npm run drills      # payouts, processes (default: both)
 *   RECARD_DRILL_RATE=300 RECARD_DRILL_SECONDS=120 RECARD_DRILL_KILL_EVERY_MS=20000   # the processes drill
 */
import { cpus } from 'node:os';
import { runPayoutDrill } from '../test/drills/payout-drill.js';
import { runProcessDrill } from '../test/drills/process-drill.js';
import { postgresBinaries, startPrivatePostgres } from '../test/harness/private-postgres.js';
import { postgresTarget, storageTargets } from '../test/harness/storage.js';

const payouts = Number(process.env.RECARD_DRILL_PAYOUTS ?? 10_000);
const kinds = (process.env.RECARD_DRILL_KINDS ?? 'payouts,processes').split(',');
process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}\n`);
const only = process.env.RECARD_DRILL_DATABASES?.split(',');
const fail = (what: string) => {
  process.stderr.write(`${what} FAILED\n`);
  process.exitCode = 1;
};

if (kinds.includes('payouts'))
  for (const target of storageTargets().filter((t) => !only || only.includes(t.name))) {
    const f = await runPayoutDrill(target, {
      payouts,
      faultRate: 0.3,
      killEveryMs: 3000,
      timeoutMs: 60 * 60_000,
      log: (line) => process.stderr.write(`  [${target.name}] ${line}\n`),
    });
    process.stdout.write(`${JSON.stringify(f)}\n`);
    const ok =
      f.payouts === payouts &&
      f.duplicatesAtProvider === 0 &&
      f.providerPaidEqualsLedger &&
      f.ordersPaidOnce &&
      f.ledgerViolations === 0;
    if (!ok) fail(`payout drill on ${target.name}`);
  }

// Three API and two worker processes on PostgreSQL and Redis, killed every 20 s; then the same run
// with the database restarted in the middle, on a PostgreSQL server of the drill's own.
if (kinds.includes('processes') && (!only || only.includes('postgres'))) {
  const options = {
    apis: 3,
    workers: 2,
    rate: Number(process.env.RECARD_DRILL_RATE ?? 300),
    seconds: Number(process.env.RECARD_DRILL_SECONDS ?? 120),
    killEveryMs: Number(process.env.RECARD_DRILL_KILL_EVERY_MS ?? 20_000),
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    drainTimeoutMs: 30 * 60_000,
  };
  if (!postgresBinaries())
    throw new Error('the processes drill needs PostgreSQL server binaries (initdb, pg_ctl)');
  for (const restart of [false, true]) {
    const pgx = await startPrivatePostgres();
    try {
      const f = await runProcessDrill(postgresTarget(pgx.url), {
        ...options,
        ...(restart ? { restartDatabase: (downMs: number) => pgx.restart(downMs) } : {}),
        log: (line) => process.stderr.write(`  [processes${restart ? ', restart' : ''}] ${line}\n`),
      });
      process.stdout.write(`${JSON.stringify(f)}\n`);
      const total = options.rate * options.seconds;
      const ok =
        f.acknowledged === total &&
        f.lost === 0 &&
        f.unacknowledged === 0 &&
        f.redeemedTwice === 0 &&
        f.paidTwice === 0 &&
        f.ledgerViolations === 0 &&
        f.statuses.paid === total;
      if (!ok) fail(`processes drill${restart ? ' with a database restart' : ''}`);
    } finally {
      pgx.stop();
    }
  }
}
