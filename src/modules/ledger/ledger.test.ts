import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageTargets, type TestLocation } from '../../../test/harness/storage.js';
import type { Storage } from '../../storage/database.js';
import { type AccountKey, accountId } from './accounts.js';
import { checkLedgerRules } from './invariants.js';
import { createLedger, type Ledger } from './service.js';
import type { TransferInput, TransferResult } from './transfer.js';

/**
 * The ledger against a model of it: random sequences of transfers (fast-check `fc.commands`) run
 * against the real store and against a few lines of arithmetic, and after every step the results,
 * every balance and every invariant must agree. On PostgreSQL some steps run concurrently.
 */

// Three accounts per currency; A may not go below zero (debits must not exceed credits).
const KEYS: AccountKey[] = [
  { kind: 'seller_payable', currency: 'CNY', owner: 'ch/a' },
  { kind: 'margin', currency: 'CNY' },
  { kind: 'platform_funding', currency: 'CNY' },
  { kind: 'margin', currency: 'USDT' },
  // Credits must not exceed debits (an asset the flow only credits after debiting it).
  { kind: 'issuer_receivable', currency: 'CNY', owner: 'china_mobile' },
];
const IDS = KEYS.map(accountId);
const FLAGGED = IDS[0] as string;

interface ModelAccount {
  currency: string;
  flagged: boolean;
  creditCapped: boolean;
  dp: number;
  dq: number;
  cp: number;
  cq: number;
}
interface ModelTransfer {
  input: TransferInput;
  amount: number;
  dr: string;
  cr: string;
  state?: 'pending' | 'posted' | 'voided' | 'expired';
  expiresAt?: number;
}
interface Model {
  accounts: Map<string, ModelAccount>;
  transfers: Map<string, ModelTransfer>;
  pendings: string[];
  now: number;
  next: number;
}
interface Real {
  /** Every answer the real ledger gave, to prove the generator reached each kind. */
  seen: Seen;
  ledger: Ledger;
  storage: Storage;
  clock: { now(): number };
}

function freshModel(now: number): Model {
  const accounts = new Map<string, ModelAccount>();
  KEYS.forEach((k, i) => {
    accounts.set(IDS[i] as string, {
      currency: k.currency,
      flagged: i === 0,
      creditCapped: i === 4,
      dp: 0,
      dq: 0,
      cp: 0,
      cq: 0,
    });
  });
  return { accounts, transfers: new Map(), pendings: [], now, next: 0 };
}

/** The model's answer to one transfer, applied to a draft (the caller keeps it only if all succeed). */
function modelApply(m: Model, t: TransferInput): TransferResult {
  const known = m.transfers.get(t.id);
  if (known)
    return JSON.stringify(known.input) === JSON.stringify(t) ? 'exists' : 'exists_with_different_fields';
  if (t.kind === 'single' || t.kind === 'pending') {
    const dr = m.accounts.get(t.debit_account_id as string);
    const cr = m.accounts.get(t.credit_account_id as string);
    if (t.amount === undefined) return 'amount_invalid';
    if (t.debit_account_id === t.credit_account_id) return 'accounts_must_be_different';
    if (!dr) return 'debit_account_not_found';
    if (!cr) return 'credit_account_not_found';
    if (dr.currency !== cr.currency) return 'currency_mismatch';
    const a = t.amount as number;
    if (dr.flagged && dr.dp + dr.dq + a > dr.cp) return 'exceeds_credits';
    if (cr.creditCapped && cr.cp + cr.cq + a > cr.dp) return 'exceeds_debits';
    if (t.kind === 'pending') {
      dr.dq += a;
      cr.cq += a;
    } else {
      dr.dp += a;
      cr.cp += a;
    }
    const rec: ModelTransfer = {
      input: t,
      amount: a,
      dr: t.debit_account_id as string,
      cr: t.credit_account_id as string,
    };
    if (t.kind === 'pending') {
      rec.state = 'pending';
      if (t.timeout_s) rec.expiresAt = m.now + t.timeout_s * 1000;
      m.pendings.push(t.id);
    }
    m.transfers.set(t.id, rec);
    return 'created';
  }
  const held = m.transfers.get(t.pending_id as string);
  if (!held) return 'pending_transfer_not_found';
  if (held.state === 'posted') return 'pending_transfer_already_posted';
  if (held.state === 'voided') return 'pending_transfer_already_voided';
  if (held.state === 'expired' || (held.expiresAt !== undefined && m.now >= held.expiresAt))
    return 'pending_transfer_expired';
  const amount = t.kind === 'post' && t.amount !== undefined ? t.amount : held.amount;
  if (amount > held.amount) return 'exceeds_pending_transfer_amount';
  const dr = m.accounts.get(held.dr) as ModelAccount;
  const cr = m.accounts.get(held.cr) as ModelAccount;
  dr.dq -= held.amount;
  cr.cq -= held.amount;
  if (t.kind === 'post') {
    dr.dp += amount;
    cr.cp += amount;
  }
  held.state = t.kind === 'post' ? 'posted' : 'voided';
  m.transfers.set(t.id, { input: t, amount, dr: held.dr, cr: held.cr });
  return 'created';
}

function cloneModel(m: Model): Model {
  return {
    accounts: new Map([...m.accounts].map(([k, v]) => [k, { ...v }])),
    transfers: new Map([...m.transfers].map(([k, v]) => [k, { ...v }])),
    pendings: [...m.pendings],
    now: m.now,
    next: m.next,
  };
}

/** Applies a batch to the model: linked means all or none. */
function modelBatch(
  m: Model,
  batch: TransferInput[],
  linked: boolean,
): { model: Model; results: TransferResult[] } {
  const draft = cloneModel(m);
  const results: TransferResult[] = [];
  for (const t of batch) {
    const r = modelApply(draft, t);
    results.push(r);
    if (linked && r !== 'created' && r !== 'exists') {
      const out = results.map((x) => (x === 'created' || x === 'exists' ? 'linked_event_failed' : x));
      while (out.length < batch.length) out.push('linked_event_failed');
      return { model: m, results: out };
    }
  }
  return { model: draft, results };
}

async function expectAgrees(m: Model, r: Real) {
  for (const [id, a] of m.accounts) {
    const got = await r.ledger.account(id, r.storage.db);
    if (!got.ok) throw new Error(`account ${id} missing`);
    expect({
      id,
      dp: got.value.debits_posted,
      dq: got.value.debits_pending,
      cp: got.value.credits_posted,
      cq: got.value.credits_pending,
    }).toEqual({
      id,
      dp: a.dp,
      dq: a.dq,
      cp: a.cp,
      cq: a.cq,
    });
  }
  expect(await checkLedgerRules(r.storage.db)).toEqual([]);
}

type Seen = Map<string, number>;
const accountArb = fc.constantFrom(...IDS);
const CNY = [IDS[0], IDS[1], IDS[2], IDS[4]] as string[];
const CNY_PAIRS = CNY.flatMap((a) => CNY.filter((b) => b !== a).map((b) => [a, b] as [string, string]));
const amountArb = fc.integer({ min: 1, max: 5_000 });

type Cmd = fc.AsyncCommand<{ m: Model }, Real>;

class Transfer implements Cmd {
  constructor(
    readonly batch: Array<Omit<TransferInput, 'id'> & { reuse?: number }>,
    readonly linked: boolean,
  ) {}
  check() {
    return true;
  }
  async run(holder: { m: Model }, r: Real) {
    const m = holder.m;
    const ids = [...m.transfers.keys()];
    const batch: TransferInput[] = this.batch.map((b) => {
      const { reuse, ...rest } = b;
      // A reused id repeats an earlier transfer (same or changed fields): the answer must be "exists" or a refusal.
      if (reuse !== undefined && ids.length > 0) {
        const earlier = m.transfers.get(ids[reuse % ids.length] as string) as ModelTransfer;
        // Same fields, or one field changed: the code, the amount, or the debit account.
        const variant = reuse % 4;
        if (variant === 0) return { ...earlier.input };
        if (variant === 1) return { ...earlier.input, code: earlier.input.code + 1 };
        if (variant === 2) return { ...earlier.input, amount: (earlier.input.amount ?? earlier.amount) + 1 };
        return {
          ...earlier.input,
          debit_account_id: IDS[(IDS.indexOf(earlier.dr) + 1) % IDS.length] as string,
        };
      }
      const t: TransferInput = { id: `t${m.next++}`, ...rest };
      if ((t.kind === 'post' || t.kind === 'void') && m.pendings.length > 0)
        t.pending_id = m.pendings[(t.code * 7) % m.pendings.length] as string;
      else if (t.kind === 'post' || t.kind === 'void') t.pending_id = 'missing';
      return t;
    });
    await runBatch(holder, r, batch, this.linked);
  }
  toString() {
    return `Transfer(${JSON.stringify(this.batch)}, linked=${this.linked})`;
  }
}

/** One batch against both, compared, then every balance and invariant. */
async function runBatch(holder: { m: Model }, r: Real, batch: TransferInput[], linked: boolean) {
  const expected = modelBatch(holder.m, batch, linked);
  const got = await r.storage.db.transaction().execute((trx) => r.ledger.create(trx, batch, { linked }));
  expect(got.results).toEqual(expected.results);
  for (const x of got.results) r.seen.set(x, (r.seen.get(x) ?? 0) + 1);
  holder.m = expected.model;
  await expectAgrees(holder.m, r);
}

/**
 * A hold with a timeout, the clock past it, then a post of it: too late, whatever else happened.
 * Then a hold voided and resolved again: refused.
 */
class LatePost implements Cmd {
  constructor(readonly amount: number) {}
  check() {
    return true;
  }
  async run(holder: { m: Model }, r: Real & { advance(ms: number): void }) {
    const id = `t${holder.m.next++}`;
    await runBatch(
      holder,
      r,
      [
        {
          id,
          kind: 'pending',
          debit_account_id: IDS[2] as string,
          credit_account_id: IDS[1] as string,
          amount: this.amount,
          code: 3,
          timeout_s: 1,
        },
      ],
      true,
    );
    await new Tick(1_000).run(holder, r);
    await runBatch(holder, r, [{ id: `t${holder.m.next++}`, kind: 'post', pending_id: id, code: 3 }], true);
    // And a hold resolved, then resolved again under another id: refused.
    const held = `t${holder.m.next++}`;
    await runBatch(
      holder,
      r,
      [
        {
          id: held,
          kind: 'pending',
          debit_account_id: IDS[2] as string,
          credit_account_id: IDS[1] as string,
          amount: this.amount,
          code: 4,
        },
      ],
      true,
    );
    await runBatch(holder, r, [{ id: `t${holder.m.next++}`, kind: 'void', pending_id: held, code: 4 }], true);
    await runBatch(
      holder,
      r,
      [{ id: `t${holder.m.next++}`, kind: this.amount % 2 ? 'post' : 'void', pending_id: held, code: 4 }],
      true,
    );
  }
  toString() {
    return `LatePost(${this.amount})`;
  }
}

class Tick implements Cmd {
  constructor(readonly ms: number) {}
  check() {
    return true;
  }
  async run(holder: { m: Model }, r: Real & { advance(ms: number): void }) {
    r.advance(this.ms);
    holder.m.now += this.ms;
    await r.ledger.expireDue();
    for (const t of holder.m.transfers.values())
      if (t.state === 'pending' && t.expiresAt !== undefined && holder.m.now >= t.expiresAt) {
        t.state = 'expired';
        const dr = holder.m.accounts.get(t.dr) as ModelAccount;
        const cr = holder.m.accounts.get(t.cr) as ModelAccount;
        dr.dq -= t.amount;
        cr.cq -= t.amount;
      }
    await expectAgrees(holder.m, r);
  }
  toString() {
    return `Tick(${this.ms})`;
  }
}

/**
 * PostgreSQL only: several transactions at once. N posts of one pending transfer (exactly one
 * wins), N retries of one void under one id (one created, the others "exists"), and N equal debits
 * of the flagged account (exactly as many win as its balance allows).
 */
/**
 * One transaction as a caller runs it on PostgreSQL: a deadlock (40P01) between twins is rolled back
 * by the server and tried again (the job runtime does the same by retrying the job).
 */
async function inTransaction<T>(
  r: Real,
  work: (trx: Parameters<Ledger['create']>[0]) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await r.storage.db.transaction().execute(work);
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || attempt >= 5) throw err;
    }
  }
}

class Concurrent implements Cmd {
  constructor(
    readonly n: number,
    readonly amount: number,
  ) {}
  check() {
    return true;
  }
  async run(holder: { m: Model }, r: Real) {
    const m = holder.m;
    const tag = m.next++;
    const open = m.pendings.filter(
      (id) => m.transfers.get(id)?.state === 'pending' && m.transfers.get(id)?.expiresAt === undefined,
    );
    if (open.length > 0) {
      const target = open[0] as string;
      const outs = await Promise.all(
        Array.from({ length: this.n }, (_, i) =>
          inTransaction(r, (trx) =>
            r.ledger.create(trx, [{ id: `c${tag}-post-${i}`, kind: 'post', pending_id: target, code: 9 }]),
          ),
        ),
      );
      const winners = outs.map((o, i) => (o.ok ? i : -1)).filter((i) => i >= 0);
      expect(winners).toHaveLength(1);
      modelApply(m, { id: `c${tag}-post-${winners[0]}`, kind: 'post', pending_id: target, code: 9 });
    }
    if (open.length > 1) {
      // The same resolution retried at once under one id: one creates it, the others find it.
      const target = open[1] as string;
      const same = { id: `c${tag}-same`, kind: 'void' as const, pending_id: target, code: 7 };
      const outs = await Promise.all(
        Array.from({ length: this.n }, () => inTransaction(r, (trx) => r.ledger.create(trx, [{ ...same }]))),
      );
      expect(outs.map((o) => o.results[0]).sort()).toEqual(
        ['created', ...Array.from({ length: this.n - 1 }, () => 'exists')].sort(),
      );
      modelApply(m, { ...same });
    }
    const a = m.accounts.get(FLAGGED) as ModelAccount;
    const room = Math.max(0, a.cp - a.dp - a.dq);
    const outs = await Promise.all(
      Array.from({ length: this.n }, (_, i) =>
        inTransaction(r, (trx) =>
          r.ledger.create(trx, [
            {
              id: `c${tag}-debit-${i}`,
              kind: 'single',
              debit_account_id: FLAGGED,
              credit_account_id: IDS[1] as string,
              amount: this.amount,
              code: 8,
            },
          ]),
        ),
      ),
    );
    const won = outs.map((o, i) => (o.ok ? i : -1)).filter((i) => i >= 0);
    expect(won).toHaveLength(Math.min(this.n, Math.floor(room / this.amount)));
    for (const i of won)
      modelApply(m, {
        id: `c${tag}-debit-${i}`,
        kind: 'single',
        debit_account_id: FLAGGED,
        credit_account_id: IDS[1] as string,
        amount: this.amount,
        code: 8,
      });
    expect(outs.filter((o) => !o.ok).every((o) => o.results[0] === 'exceeds_credits')).toBe(true);
    await expectAgrees(m, r);
  }
  toString() {
    return `Concurrent(${this.n}, ${this.amount})`;
  }
}

const transferArb = fc
  .record(
    {
      kind: fc.constantFrom('single', 'single', 'pending', 'post', 'void'),
      pair: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...CNY_PAIRS) },
        { weight: 1, arbitrary: fc.tuple(accountArb, accountArb) },
      ),
      amount: amountArb,
      code: fc.integer({ min: 1, max: 20 }),
      timeout_s: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
      reuse: fc.option(fc.nat(50), { nil: undefined, freq: 8 }),
    },
    { requiredKeys: ['kind', 'code', 'pair', 'amount'] },
  )
  .map((t) => {
    const out: Omit<TransferInput, 'id'> & { reuse?: number } = { kind: t.kind, code: t.code };
    if (t.reuse !== undefined) out.reuse = t.reuse;
    if (t.kind === 'single' || t.kind === 'pending') {
      out.debit_account_id = t.pair[0];
      out.credit_account_id = t.pair[1];
      out.amount = t.amount;
      if (t.kind === 'pending' && t.timeout_s !== undefined) out.timeout_s = t.timeout_s;
    }
    if (t.kind === 'post' && t.amount !== undefined && t.amount % 3 === 0) out.amount = t.amount;
    return out;
  });

describe.each(storageTargets())('ledger against its model on $name', (target) => {
  let loc: TestLocation;
  beforeAll(async () => {
    loc = await target.fresh();
  });
  afterAll(() => loc.destroy());

  it('random sequences of transfers keep every balance and invariant', async () => {
    const storage = await loc.open();
    const commands = [
      fc
        .tuple(fc.array(transferArb, { minLength: 1, maxLength: 4 }), fc.boolean())
        .map(([b, linked]) => new Transfer(b, linked)),
      fc.integer({ min: 1, max: 20_000 }).map((ms) => new Tick(ms)),
      amountArb.map((a) => new LatePost(a)),
      // Fund the flagged account now and then, so its limit is met both ways.
      amountArb.map(
        (a) =>
          new Transfer(
            [
              {
                kind: 'single',
                debit_account_id: IDS[2] as string,
                credit_account_id: FLAGGED,
                amount: a * 4,
                code: 1,
              },
            ],
            true,
          ),
      ),
      ...(target.name === 'postgres'
        ? [fc.tuple(fc.integer({ min: 2, max: 8 }), amountArb).map(([n, a]) => new Concurrent(n, a))]
        : []),
    ];
    let run = 0;
    const seen: Seen = new Map();
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: 'large' }), async (cmds) => {
        // Each run gets its own accounts: owners are suffixed by the run.
        run++;
        await storage.db.deleteFrom('ledger_transfers').execute();
        await storage.db.deleteFrom('ledger_accounts').execute();
        let now = 1_800_000_000_000;
        const clock = { now: () => now };
        const ledger = createLedger({ db: storage.db, dialect: storage.dialect, clock });
        await storage.db.transaction().execute((trx) => ledger.open(trx, KEYS));
        const real = {
          seen,
          ledger,
          storage,
          clock,
          advance: (ms: number) => {
            now += ms;
          },
        };
        await fc.asyncModelRun(() => ({ model: { m: freshModel(now) }, real }), cmds);
      }),
      { numRuns: target.name === 'postgres' ? 60 : 100 },
    );
    expect(run).toBeGreaterThan(0);
    // The generator reaches every kind of answer, or the run proved less than it claims.
    for (const r of [
      'created',
      'exists',
      'exists_with_different_fields',
      'linked_event_failed',
      'exceeds_credits',
      'exceeds_debits',
      'pending_transfer_expired',
      'currency_mismatch',
    ])
      expect(seen.get(r) ?? 0, r).toBeGreaterThan(0);
    expect(
      (seen.get('pending_transfer_already_posted') ?? 0) + (seen.get('pending_transfer_already_voided') ?? 0),
    ).toBeGreaterThan(0);
  }, 240_000);
});

describe.each(storageTargets())('ledger amounts beyond 32 bits on $name', (target) => {
  it('books and holds amounts of trillions of minor units exactly (USDT has six decimals)', async () => {
    const loc = await target.fresh();
    try {
      const storage = await loc.open();
      const ledger = createLedger({
        db: storage.db,
        dialect: storage.dialect,
        clock: { now: () => Date.now() },
      });
      await storage.db.transaction().execute((trx) => ledger.open(trx, KEYS));
      const big = 3_000_000_000_123; // 3 million USDT in 10⁻⁶
      const out = await storage.db.transaction().execute((trx) =>
        ledger.create(trx, [
          {
            id: 'b1',
            kind: 'single',
            debit_account_id: IDS[2] as string,
            credit_account_id: IDS[1] as string,
            amount: big,
            code: 1,
          },
          {
            id: 'b2',
            kind: 'pending',
            debit_account_id: IDS[2] as string,
            credit_account_id: IDS[1] as string,
            amount: big * 2,
            code: 1,
          },
          { id: 'b3', kind: 'post', pending_id: 'b2', amount: big, code: 1 },
        ]),
      );
      expect(out.results).toEqual(['created', 'created', 'created']);
      const margin = await ledger.account(IDS[1] as string, storage.db);
      expect(margin.ok && margin.value).toMatchObject({ credits_posted: big * 2, credits_pending: 0 });
      expect(await checkLedgerRules(storage.db)).toEqual([]);
    } finally {
      await loc.destroy();
    }
  });
});
