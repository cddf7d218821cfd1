import { describe, expect, it } from 'vitest';
import { runPayoutDrill } from '../drills/payout-drill.js';
import { storageTargets } from '../harness/storage.js';

/**
 * The payout drill, small (the full one: `npm run drills`, figures in docs/reliability.md): 150
 * payouts, 30% of pay calls timing out or garbled, the worker killed with SIGKILL every ~1.5 s.
 */
describe.each(storageTargets())('payout drill on $name', (target) => {
  it('pays every order exactly once, nothing twice at any provider, and the ledger agrees', {
    timeout: 240_000,
  }, async () => {
    const f = await runPayoutDrill(target, {
      payouts: 150,
      faultRate: 0.3,
      killEveryMs: 1500,
      timeoutMs: 180_000,
    });
    process.stdout.write(`payout drill ${JSON.stringify(f)}\n`);
    expect(f.kills).toBeGreaterThanOrEqual(2);
    expect(f.payCalls).toBeGreaterThan(f.payouts); // the faults made it send again (same ids)
    expect(f).toMatchObject({
      payouts: 150,
      duplicatesAtProvider: 0,
      providerPaidEqualsLedger: true,
      ordersPaidOnce: true,
      ledgerViolations: 0,
    });
  });
});
