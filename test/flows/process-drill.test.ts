import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ProcessDrillFigures, runProcessDrill } from '../drills/process-drill.js';
import { type PrivatePostgres, postgresBinaries, startPrivatePostgres } from '../harness/private-postgres.js';
import { postgresTarget } from '../harness/storage.js';

// Spawns five `recard` processes (through tsx) and restarts them: slow on a loaded CI machine.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 60_000 });

/**
 * The scale-out drill, small (docs/reliability.md#processes-killed; `npm run drills` runs it in
 * full): three API and two worker processes on PostgreSQL and Redis, one of each killed with
 * SIGKILL every few seconds, and the database restarted once in the middle.
 */
describe.skipIf(!postgresBinaries())('three API and two worker processes, killed and restarted', () => {
  let pgx: PrivatePostgres;
  beforeAll(async () => {
    pgx = await startPrivatePostgres();
  });
  afterAll(() => pgx?.stop());

  it('lose nothing acknowledged, redeem no card and pay no payout twice, and leave the ledger clean', async () => {
    const f: ProcessDrillFigures = await runProcessDrill(postgresTarget(pgx.url), {
      apis: 3,
      workers: 2,
      rate: 10,
      seconds: 30,
      killEveryMs: 7_000,
      redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      restartDatabase: (downMs) => pgx.restart(downMs),
      drainTimeoutMs: 120_000,
    });
    process.stdout.write(`process drill ${JSON.stringify(f)}\n`);
    expect(f.acknowledged).toBe(300);
    expect(f.kills).toBeGreaterThanOrEqual(2);
    expect(f.databaseRestarts).toBe(1);
    expect(f.lost).toBe(0);
    expect(f.unacknowledged).toBe(0);
    expect(f.redeemedTwice).toBe(0);
    expect(f.paidTwice).toBe(0);
    expect(f.ledgerViolations).toBe(0);
    // Every order at its end: these cards are valid, so each is redeemed and paid.
    expect(f.statuses).toEqual({ paid: 300 });
  });
});
