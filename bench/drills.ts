/**
 * `npm run drills`: the long drills, with the figures docs/reliability.md records. The suite runs
 * the same drills small (test/flows/payout-drill.test.ts).
 *
 *   npm run drills                       # SQLite; PostgreSQL too when RECARD_TEST_DATABASE_URL is set
 *   RECARD_DRILL_PAYOUTS=2000 npm run drills
 *   RECARD_DRILL_DATABASES=postgres npm run drills   # one of them
 */
import { cpus } from 'node:os';
import { runPayoutDrill } from '../test/drills/payout-drill.js';
import { storageTargets } from '../test/harness/storage.js';

const payouts = Number(process.env.RECARD_DRILL_PAYOUTS ?? 10_000);
process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}\n`);
const only = process.env.RECARD_DRILL_DATABASES?.split(',');
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
  if (!ok) {
    process.stderr.write(`drill on ${target.name} FAILED\n`);
    process.exitCode = 1;
  }
}
