/**
 * Scores a replayed day (docs/risk-replay.md): per planted pattern, recall over its signature orders
 * and over its instances, precision when the server names the rules that fired, the share of honest
 * orders held, and a confusion summary. Pure: labels and observations in, numbers out.
 */
import { type DayOrder, INTAKE_PATTERNS, PATTERNS, type Pattern } from './synthetic-day.js';

/** Statuses that hold an order (at the intake answer or soon after). */
export const HELD_STATUSES = ['review', 'frozen', 'rejected'] as const;
/** Refusals of a submission that hold the card or the seller. */
export const HELD_CODES = ['card_locked', 'too_many_wrong_secrets'] as const;

/** What the replay saw of one order. */
export interface Observation {
  index: number;
  /** HTTP status of the submission (0: no answer). */
  httpStatus: number;
  /** Error code of a refused submission. */
  code: string | null;
  orderId: string | null;
  /** The order's status once settled for scoring (null: refused, or no outcome in time). */
  status: string | null;
  /** Rule codes the server says fired for the order, when it says. */
  rules: string[];
}

export type Outcome = 'held' | 'passed' | 'refused' | 'unresolved';

export function outcomeOf(o: Observation): Outcome {
  if (o.code !== null) return (HELD_CODES as readonly string[]).includes(o.code) ? 'held' : 'refused';
  if (o.status === null || o.status === 'submitted' || o.status === 'verifying') return 'unresolved';
  return (HELD_STATUSES as readonly string[]).includes(o.status) ? 'held' : 'passed';
}

/** Which planted pattern a rule code belongs to: `velocity_device_hour` → velocity. */
export function patternOfRule(rule: string): Pattern | null {
  const r = rule.toLowerCase();
  for (const p of PATTERNS)
    if (r === p || r.startsWith(`${p}_`) || r.startsWith(`${p}.`) || r.startsWith(`${p}:`)) return p;
  if (r.startsWith('geo')) return 'geo_jump';
  if (r.startsWith('amount')) return 'amount_anomaly';
  if (r.startsWith('device')) return 'device_mismatch';
  if (r.startsWith('new_account')) return 'new_account_high_value';
  return null;
}

export interface PatternScore {
  pattern: Pattern;
  instances: number;
  /** Instances with at least one signature order held. */
  instancesCaught: number;
  recallInstances: number | null;
  signatureOrders: number;
  signatureHeld: number;
  recallOrders: number | null;
  /** Orders of the pattern that are not its signature, and how many of them were held anyway. */
  otherOrders: number;
  otherHeld: number;
  /** Orders a rule of this pattern fired on, and how many of them belong to an instance of it. */
  flagged: number;
  flaggedTrue: number;
  precision: number | null;
}

export interface Check {
  name: string;
  value: number | null;
  target: string;
  ok: boolean;
}

export interface ScoreResult {
  orders: number;
  honest: {
    orders: number;
    held: number;
    heldShare: number;
    refused: Record<string, number>;
    unresolved: number;
  };
  /** Rows: honest, planted signature, planted other. Columns: held, passed, refused, unresolved. */
  confusion: Record<'honest' | 'signature' | 'planted_other', Record<Outcome, number>>;
  /** Held orders that are planted, over all held orders. */
  precisionOverall: number | null;
  /** Whether the server named the rules that fired for any order (per-pattern precision needs it). */
  rulesReported: boolean;
  patterns: PatternScore[];
  rings: { instance: string; orders: number; held: number; sellers: number }[];
  /** Honest held orders by what they were (note) and by the rules that fired: where the false positives come from. */
  falsePositives: { byNote: Record<string, number>; byRule: Record<string, number> };
  checks: Check[];
  ok: boolean;
}

export interface Targets {
  /** Minimum recall over signature orders, per intake pattern. */
  recall: number;
  /** Maximum share of honest orders held. */
  honestHeld: number;
}
export const DEFAULT_TARGETS: Targets = { recall: 0.995, honestHeld: 0.005 };

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

export function score(
  orders: readonly DayOrder[],
  observations: readonly Observation[],
  targets: Targets = DEFAULT_TARGETS,
): ScoreResult {
  const byIndex = new Map(observations.map((o) => [o.index, o]));
  const day = orders.filter((o) => o.phase === 'day');
  const outcome = (o: DayOrder): Outcome => {
    const seen = byIndex.get(o.index);
    return seen ? outcomeOf(seen) : 'unresolved';
  };
  const rulesOf = (o: DayOrder) => byIndex.get(o.index)?.rules ?? [];
  const rulesReported = observations.some((o) => o.rules.length > 0);

  const empty = (): Record<Outcome, number> => ({ held: 0, passed: 0, refused: 0, unresolved: 0 });
  const confusion = { honest: empty(), signature: empty(), planted_other: empty() };
  const refused: Record<string, number> = {};
  const fpNote: Record<string, number> = {};
  const fpRule: Record<string, number> = {};
  for (const o of day) {
    const out = outcome(o);
    const row = o.label.pattern === 'honest' ? 'honest' : o.label.signature ? 'signature' : 'planted_other';
    confusion[row][out]++;
    if (row === 'honest' && out === 'refused') {
      const code = byIndex.get(o.index)?.code ?? 'unknown';
      refused[code] = (refused[code] ?? 0) + 1;
    }
    if (row === 'honest' && out === 'held') {
      const note = o.label.note ?? 'plain';
      fpNote[note] = (fpNote[note] ?? 0) + 1;
      const rules = rulesOf(o);
      for (const rule of rules.length > 0 ? rules : ['(not reported)'])
        fpRule[rule] = (fpRule[rule] ?? 0) + 1;
    }
  }
  const honestOrders = day.filter((o) => o.label.pattern === 'honest').length;
  const honestHeld = confusion.honest.held;
  const heldAll = confusion.honest.held + confusion.signature.held + confusion.planted_other.held;

  const patterns: PatternScore[] = INTAKE_PATTERNS.map((p) => {
    const of = day.filter((o) => o.label.pattern === p);
    const sig = of.filter((o) => o.label.signature);
    // An instance without a signature order (a day too small for its rule to judge) is not scored.
    const instances = new Set(sig.map((o) => o.label.instance));
    const caught = new Set(sig.filter((o) => outcome(o) === 'held').map((o) => o.label.instance));
    const flagged = day.filter(
      (o) => outcome(o) === 'held' && rulesOf(o).some((r) => patternOfRule(r) === p),
    );
    const flaggedTrue = flagged.filter((o) => o.label.pattern === p).length;
    const other = of.filter((o) => !o.label.signature);
    return {
      pattern: p,
      instances: instances.size,
      instancesCaught: caught.size,
      recallInstances: ratio(caught.size, instances.size),
      signatureOrders: sig.length,
      signatureHeld: sig.filter((o) => outcome(o) === 'held').length,
      recallOrders: ratio(sig.filter((o) => outcome(o) === 'held').length, sig.length),
      otherOrders: other.length,
      otherHeld: other.filter((o) => outcome(o) === 'held').length,
      flagged: flagged.length,
      flaggedTrue,
      precision: rulesReported ? ratio(flaggedTrue, flagged.length) : null,
    };
  });

  const ringInstances = [
    ...new Set(day.filter((o) => o.label.pattern === 'ring').map((o) => o.label.instance as string)),
  ];
  const rings = ringInstances.map((instance) => {
    const of = day.filter((o) => o.label.instance === instance);
    return {
      instance,
      orders: of.length,
      held: of.filter((o) => outcome(o) === 'held').length,
      sellers: new Set(of.map((o) => o.sellerId)).size,
    };
  });

  const heldShare = honestOrders === 0 ? 0 : honestHeld / honestOrders;
  const checks: Check[] = [
    ...patterns.map((p) => ({
      name: `recall ${p.pattern}`,
      value: p.recallOrders,
      target: `≥ ${(targets.recall * 100).toFixed(1)}%`,
      ok: p.recallOrders !== null && p.recallOrders >= targets.recall,
    })),
    {
      name: 'honest orders held',
      value: heldShare,
      target: `≤ ${(targets.honestHeld * 100).toFixed(1)}%`,
      ok: heldShare <= targets.honestHeld,
    },
    {
      name: 'honest orders refused otherwise (harness or server fault)',
      value: confusion.honest.refused,
      target: '0',
      ok: confusion.honest.refused === 0,
    },
  ];
  return {
    orders: day.length,
    honest: {
      orders: honestOrders,
      held: honestHeld,
      heldShare,
      refused,
      unresolved: confusion.honest.unresolved,
    },
    confusion,
    precisionOverall: ratio(heldAll - honestHeld, heldAll),
    rulesReported,
    patterns,
    rings,
    falsePositives: { byNote: fpNote, byRule: fpRule },
    checks,
    ok: checks.every((c) => c.ok),
  };
}

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(2)}%`);

/** The result as Markdown tables. */
export function renderScore(s: ScoreResult): string {
  const lines = [
    '| pattern | instances | caught | recall (instances) | signature orders | held | recall (orders) | other orders held | precision |',
    '|---|---|---|---|---|---|---|---|---|',
    ...s.patterns.map(
      (p) =>
        `| ${p.pattern} | ${p.instances} | ${p.instancesCaught} | ${pct(p.recallInstances)} | ${p.signatureOrders} | ${p.signatureHeld} | ${pct(p.recallOrders)} | ${p.otherHeld}/${p.otherOrders} | ${s.rulesReported ? `${pct(p.precision)} (${p.flaggedTrue}/${p.flagged})` : 'rules not reported'} |`,
    ),
    '',
    `Honest orders: ${s.honest.orders}, held ${s.honest.held} (${pct(s.honest.heldShare)}), refused otherwise ${
      Object.entries(s.honest.refused)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ') || '0'
    }, no outcome ${s.honest.unresolved}. Precision over all holds: ${pct(s.precisionOverall)}.`,
    '',
    '| orders | held | passed | refused | no outcome |',
    '|---|---|---|---|---|',
    ...(['honest', 'signature', 'planted_other'] as const).map((row) => {
      const c = s.confusion[row];
      return `| ${row} | ${c.held} | ${c.passed} | ${c.refused} | ${c.unresolved} |`;
    }),
  ];
  if (s.rings.length > 0) {
    lines.push(
      '',
      `Rings (periodic job, no target): ${s.rings.map((r) => `${r.instance} ${r.sellers} sellers, ${r.held}/${r.orders} held`).join('; ')}.`,
    );
  }
  if (s.honest.held > 0)
    lines.push(
      '',
      `Honest holds by kind: ${Object.entries(s.falsePositives.byNote)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}; by rule: ${Object.entries(s.falsePositives.byRule)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}.`,
    );
  lines.push(
    '',
    ...s.checks.map(
      (c) =>
        `${c.ok ? 'ok  ' : 'MISS'} ${c.name}: ${c.name.startsWith('honest orders refused') ? c.value : pct(c.value)} (target ${c.target})`,
    ),
  );
  return lines.join('\n');
}
