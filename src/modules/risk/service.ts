import { Value } from '@sinclair/typebox/value';
import ipaddr from 'ipaddr.js';
import type { Transaction } from 'kysely';
import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { canonicalIp } from '../../shared/ip-address.js';
import { memoByText } from '../../shared/memo.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import { normaliseCardField } from '../cards/index.js';
import type { RedeemGateInput } from '../verification/index.js';
import { CachedRead } from './cached-read.js';
import { type Evaluation, evaluate } from './engine.js';
import type { Facts } from './facts.js';
import { type IntakeFactDeps, type IntakeRiskInput, intakeFacts } from './intake.js';
import {
  type AssessmentView,
  type BlacklistKind,
  DEFAULT_PARAMS,
  type Decision,
  HOLD_REASONS,
  type ReportKind,
  RULE_IDS,
  RULE_PARAMS,
  RULE_SPECS,
  type RuleId,
  type RuleMode,
  type RuleSetting,
} from './model.js';
import { type FlaggedMember, flaggedMembers, memberKey } from './rings-job.js';
import {
  type AssessmentRow,
  assessmentsOf,
  type BlacklistRow,
  blacklistCount,
  blacklistRow,
  blacklistRows,
  deleteBlacklist,
  insertAssessment,
  insertBlacklist,
  insertReport,
  type ReportRow,
  reportRows,
  ruleRow,
  ruleRows,
  saveRule,
} from './store.js';

type Trx = Transaction<Database>;

/** What the engine tells intake or verification to do with the order. */
export type RiskVerdict = { action: 'allow' } | { action: Exclude<Decision, 'allow'>; reason: string };

export interface RiskServiceDeps extends Omit<IntakeFactDeps, 'blacklistInUse' | 'hash' | 'flaggedRingOf'> {
  db: Db;
  clock: Clock;
  /** The keyed hash the orders' card hashes are made with (blacklisted cards must match them). */
  keyedHash(text: string): string;
  /** How long rule settings and the blacklist's size are cached (other processes see a change within it). */
  cacheMs?: number;
  /** Asks the seller for a step-up code (risk/step-up.ts), in the intake's transaction. */
  stepUp?(trx: Trx, input: IntakeRiskInput, nowMs: number): Promise<void>;
}

export interface RuleView {
  id: RuleId;
  summary: string;
  stage: 'intake' | 'issuer';
  decision: Decision;
  enabled: boolean;
  mode: RuleMode;
  params: unknown;
  version: number;
  updated_at: string | null;
  updated_by: string | null;
}

export interface RuleChange {
  enabled?: boolean;
  mode?: RuleMode;
  params?: unknown;
  /** The version read: the change is refused (409) if the rule changed since. */
  version?: number;
}

/** What verification tells the engine once the issuer has answered (verification's port). */
export type IssuerRiskInput = RedeemGateInput;

export function createRiskService(deps: RiskServiceDeps) {
  const { db, clock } = deps;
  const cacheMs = deps.cacheMs ?? 1000;
  const ruleSettings = new CachedRead<RuleSetting[]>(cacheMs);
  const blacklistSize = new CachedRead<number>(cacheMs);
  const rings = new CachedRead<Map<string, FlaggedMember>>(cacheMs);

  function settingOf(
    id: RuleId,
    row: { enabled: number; mode: string; params: string; version: number } | undefined,
  ): RuleSetting {
    if (!row) return { id, enabled: true, mode: 'enforce', params: DEFAULT_PARAMS[id], version: 0 };
    return {
      id,
      enabled: row.enabled === 1,
      mode: row.mode as RuleMode,
      // A parameter added since the row was saved takes its default.
      params: Value.Default(RULE_PARAMS[id], JSON.parse(row.params)) as RuleSetting['params'],
      version: row.version,
    };
  }

  /** Read through `from`: inside a unit on SQLite only the unit's transaction may be used. */
  function settings(from: Db = db): Promise<RuleSetting[]> {
    return ruleSettings.get(async () => {
      const rows = await ruleRows(from);
      return RULE_IDS.map((id) =>
        settingOf(
          id,
          rows.find((r) => r.id === id),
        ),
      );
    });
  }

  /** After a blacklist change: reads in flight may predate it, so they are disowned first. */
  async function refreshBlacklistSize(): Promise<void> {
    blacklistSize.invalidate();
    await blacklistSize.reload(() => blacklistCount(db));
  }

  const factDeps: IntakeFactDeps = {
    ...deps,
    // The subjects of an order (seller, device, IP, destination) recur with each of their orders.
    hash: memoByText(deps.keyedHash),
    // Unknown (never read, or just changed) counts as in use: a blacklisted card is never let through.
    blacklistInUse: () => (blacklistSize.peek() ?? 1) > 0,
    flaggedRingOf: (channelId, sellerId) => rings.peek()?.get(memberKey(channelId, sellerId)),
  };

  /** Records what fired and files the reports the enforced rules ask for, in the order's transaction. */
  async function record(
    trx: Trx,
    stage: 'intake' | 'issuer',
    facts: Facts,
    e: Evaluation,
    context: { cardLabel: string | null },
  ) {
    if (e.fired.length === 0) return;
    await insertAssessment(trx, {
      id: newId('rsk', facts.nowMs),
      order_id: facts.orderId,
      channel_id: facts.channelId,
      stage,
      decision: e.decision,
      fired: JSON.stringify(e.fired),
      created_at: facts.nowMs,
    });
    for (const kind of e.reports) {
      await insertReport(trx, {
        id: newId('sar', facts.nowMs),
        order_id: facts.orderId,
        channel_id: facts.channelId,
        seller_id: facts.sellerId,
        kind,
        amount: facts.faceValue,
        currency: facts.currency,
        evidence: JSON.stringify({
          stage,
          card: context.cardLabel,
          card_type: facts.cardType,
          face_value: facts.faceValue,
          decision: e.decision,
          rules: e.fired.filter((f) => !f.shadow),
          shadow_rules: e.fired.filter((f) => f.shadow).map((f) => f.rule),
        }),
        created_at: facts.nowMs,
      });
    }
  }

  const verdictOf = (e: Evaluation): RiskVerdict =>
    e.decision === 'allow' ? { action: 'allow' } : { action: e.decision, reason: HOLD_REASONS[e.decision] };

  const assessmentView = (r: AssessmentRow): AssessmentView => ({
    id: r.id,
    order_id: r.order_id,
    stage: r.stage as AssessmentView['stage'],
    decision: r.decision as Decision,
    fired: (JSON.parse(r.fired) as Evaluation['fired'][number][]).map((f) => ({
      rule: f.rule,
      decision: f.decision,
      reasons: f.reasons,
      shadow: f.shadow,
      ...(f.report ? { report: f.report } : {}),
      ...(f.stepUp ? { step_up: true } : {}),
    })),
    created_at: rfc3339(Number(r.created_at)),
  });

  const ruleView = (s: RuleSetting, row?: { updated_at: number; updated_by: string | null }): RuleView => ({
    id: s.id,
    summary: RULE_SPECS[s.id].summary,
    stage: RULE_SPECS[s.id].stage,
    decision: RULE_SPECS[s.id].decision,
    enabled: s.enabled,
    mode: s.mode,
    params: s.params,
    version: s.version,
    updated_at: row ? rfc3339(Number(row.updated_at)) : null,
    updated_by: row?.updated_by ?? null,
  });

  const blacklistView = (r: BlacklistRow) => ({
    id: r.id,
    kind: r.kind as BlacklistKind,
    label: r.label,
    reason: r.reason,
    created_by: r.created_by,
    created_at: rfc3339(Number(r.created_at)),
  });

  /**
   * Intake's question, in its transaction: the facts are gathered (and counted), the rules run,
   * what fired is recorded on the order and the reports filed, all with the order or not at all.
   */
  async function assessIntakeMany(
    trx: Trx,
    orders: readonly { input: IntakeRiskInput; nowMs: number }[],
  ): Promise<RiskVerdict[]> {
    if (orders.length === 0) return [];
    await blacklistSize.get(() => blacklistCount(trx));
    const s = await settings(trx);
    if (s.some((r) => r.id === 'ring_member' && r.enabled)) await rings.get(() => flaggedMembers(trx));
    const canon = orders.map((o) => ({
      input: { ...o.input, clientIp: o.input.clientIp === null ? null : canonicalIp(o.input.clientIp) },
      nowMs: o.nowMs,
    }));
    const all = await intakeFacts(factDeps, s, trx, canon);
    const verdicts: RiskVerdict[] = [];
    for (const [k, facts] of all.entries()) {
      const { input, nowMs } = canon[k] as (typeof canon)[number];
      const e = evaluate(s, 'intake', facts);
      await record(trx, 'intake', facts, e, { cardLabel: input.cardLabel });
      if (e.stepUp && e.decision === 'review' && deps.stepUp) await deps.stepUp(trx, input, nowMs);
      verdicts.push(verdictOf(e));
    }
    return verdicts;
  }

  return {
    /**
     * Intake's question for one order: the facts are gathered (and counted), the rules run,
     * what fired is recorded on the order and the reports filed, all with the order or not at all.
     */
    async assessIntake(trx: Trx, input: IntakeRiskInput, nowMs: number): Promise<RiskVerdict> {
      return (await assessIntakeMany(trx, [{ input, nowMs }]))[0] as RiskVerdict;
    },

    /** Many orders of a batch slice, each judged as `assessIntake` would one after the other. */
    assessIntakeMany,

    /**
     * Verification's question once the issuer has answered, before the card is redeemed. The rules
     * of this stage need no counters: the facts are the issuer's answer. `record` writes what fired
     * in the transaction that moves the order (nothing when nothing fired).
     */
    async afterIssuer(
      input: IssuerRiskInput,
    ): Promise<{ verdict: RiskVerdict; record: ((trx: Trx) => Promise<void>) | null }> {
      const s = await settings();
      const facts: Facts = { ...input, nowMs: clock.now() };
      const e = evaluate(s, 'issuer', facts);
      return {
        verdict: verdictOf(e),
        record: e.fired.length === 0 ? null : (trx) => record(trx, 'issuer', facts, e, { cardLabel: null }),
      };
    },

    /** The rules that fired on an order, at each stage (a review's evidence). */
    async assessments(orderId: string, from: Db = db): Promise<AssessmentView[]> {
      return (await assessmentsOf(from, orderId)).map(assessmentView);
    },

    async listRules(): Promise<{ data: RuleView[] }> {
      const rows = await ruleRows(db);
      return {
        data: RULE_IDS.map((id) => {
          const row = rows.find((r) => r.id === id);
          return ruleView(settingOf(id, row), row);
        }),
      };
    },

    async getRule(
      id: string,
    ): Promise<Result<RuleView, 'resource_not_found' | 'conflict' | 'invalid_request'>> {
      if (!(RULE_IDS as string[]).includes(id))
        return fail('resource_not_found', `No risk rule ${id}.`, { field: 'params.id' });
      const row = await ruleRow(db, id);
      return ok(ruleView(settingOf(id as RuleId, row), row));
    },

    /** Changes a rule's settings (the admin API audits who, before and after). */
    async updateRule(
      id: string,
      change: RuleChange,
      actor: string,
    ): Promise<Result<RuleView, 'resource_not_found' | 'conflict' | 'invalid_request'>> {
      if (!(RULE_IDS as string[]).includes(id))
        return fail('resource_not_found', `No risk rule ${id}.`, { field: 'params.id' });
      const rule = id as RuleId;
      const row = await ruleRow(db, rule);
      const current = settingOf(rule, row);
      if (change.version !== undefined && change.version !== current.version)
        return fail(
          'conflict',
          `Rule ${rule} is at version ${current.version}, not ${change.version}; read it again.`,
          {
            field: 'version',
          },
        );
      let params = current.params;
      if (change.params !== undefined) {
        const schema = RULE_PARAMS[rule];
        const candidate = Value.Default(schema, structuredClone(change.params));
        const first = Value.Errors(schema, candidate).First();
        if (first)
          return fail('invalid_request', `params${first.path.replaceAll('/', '.')}: ${first.message}.`, {
            field: `body.params${first.path.replaceAll('/', '.')}`,
          });
        params = candidate as typeof params;
      }
      const now = clock.now();
      const next = {
        id: rule,
        enabled: (change.enabled ?? current.enabled) ? 1 : 0,
        mode: change.mode ?? current.mode,
        params: JSON.stringify(params),
        version: current.version + 1,
        updated_at: now,
        updated_by: actor,
      };
      if (!(await saveRule(db, next, row ? current.version : null)))
        return fail('conflict', `Rule ${rule} was changed meanwhile; read it again.`, { field: 'params.id' });
      ruleSettings.invalidate();
      return ok(ruleView(settingOf(rule, next), next));
    },

    /** Blacklists a card (by number, kept only as its keyed hash), seller, device, IP or destination. */
    async addToBlacklist(
      input: {
        kind: BlacklistKind;
        value?: string;
        card_number?: string;
        card_type?: string;
        channel_id?: string;
        reason: string;
      },
      actor: string,
    ): Promise<Result<ReturnType<typeof blacklistView>, 'invalid_request' | 'conflict'>> {
      // A card number comes in its own field, which the audit log redacts.
      const field = input.kind === 'card' ? 'card_number' : 'value';
      const value = (input.kind === 'card' ? input.card_number : input.value)?.trim() ?? '';
      if (value.length === 0)
        return fail('invalid_request', `${field} is required for a ${input.kind}.`, {
          field: `body.${field}`,
        });
      let text: string;
      let label: string;
      switch (input.kind) {
        case 'card': {
          if (!input.card_type)
            return fail('invalid_request', 'A card needs its card_type.', { field: 'body.card_type' });
          const number = normaliseCardField(value);
          text = `${input.card_type}:${number}`;
          label = `${input.card_type} ${'*'.repeat(Math.max(0, number.length - 4))}${number.slice(-4)}`;
          break;
        }
        case 'seller':
          if (!input.channel_id)
            return fail('invalid_request', 'A seller is named within its channel.', {
              field: 'body.channel_id',
            });
          text = `seller:${input.channel_id}:${value}`;
          label = `seller ${value} of ${input.channel_id}`;
          break;
        case 'device':
          if (!input.channel_id)
            return fail('invalid_request', 'A device is named within its channel.', {
              field: 'body.channel_id',
            });
          text = `device:${input.channel_id}:${value}`;
          label = `device …${value.slice(-4)} of ${input.channel_id}`;
          break;
        case 'ip':
          if (!ipaddr.isValid(value))
            return fail('invalid_request', 'Not an IP address.', { field: 'body.value' });
          text = `ip:${canonicalIp(value)}`;
          label = `ip ${canonicalIp(value)}`;
          break;
        default:
          text = `${input.kind}:${value}`;
          label = `${input.kind} …${value.slice(-6)}`;
      }
      // Hashed as intake hashes it (risk/intake.ts subjectHashes; a card as orders hash it).
      const hash = deps.keyedHash(text);
      const now = clock.now();
      const row: BlacklistRow = {
        id: newId('blk', now),
        kind: input.kind,
        value_hash: hash,
        label,
        reason: input.reason,
        created_by: actor,
        created_at: now,
      };
      const existing = (await blacklistRows(db, input.kind)).find((r) => r.value_hash === hash);
      if (existing)
        return fail('conflict', `This ${input.kind} is already blacklisted (${existing.id}).`, {
          field: 'body.value',
        });
      try {
        await insertBlacklist(db, row);
      } catch {
        return fail('conflict', `This ${input.kind} is already blacklisted.`, { field: 'body.value' });
      }
      await refreshBlacklistSize();
      return ok(blacklistView(row));
    },

    async listBlacklist(kind?: string) {
      return { data: (await blacklistRows(db, kind)).map(blacklistView) };
    },

    async getBlacklisted(id: string) {
      const row = await blacklistRow(db, id);
      return row
        ? ok(blacklistView(row))
        : fail('resource_not_found', `No blacklist entry ${id}.`, { field: 'params.id' });
    },

    async removeFromBlacklist(
      id: string,
    ): Promise<Result<{ id: string; removed: true }, 'resource_not_found'>> {
      if (!(await deleteBlacklist(db, id)))
        return fail('resource_not_found', `No blacklist entry ${id}.`, { field: 'params.id' });
      await refreshBlacklistSize();
      return ok({ id, removed: true });
    },

    /** Suspicious-activity reports, oldest first (the export; the admin API audits each one). */
    async reports(q: { from?: string; to?: string; kind?: string; limit?: number }): Promise<ReportView[]> {
      const rows = await reportRows(db, {
        ...(q.from ? { fromMs: Date.parse(q.from) } : {}),
        ...(q.to ? { toMs: Date.parse(q.to) } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        limit: Math.min(q.limit ?? 10_000, 100_000),
      });
      return rows.map(reportView);
    },
  };
}

export interface ReportView {
  id: string;
  created_at: string;
  kind: ReportKind;
  order_id: string;
  channel_id: string;
  seller_id: string;
  amount: number;
  currency: string;
  evidence: unknown;
}

const reportView = (r: ReportRow): ReportView => ({
  id: r.id,
  created_at: rfc3339(Number(r.created_at)),
  kind: r.kind as ReportKind,
  order_id: r.order_id,
  channel_id: r.channel_id,
  seller_id: r.seller_id,
  amount: Number(r.amount),
  currency: r.currency,
  evidence: JSON.parse(r.evidence),
});

export type RiskService = ReturnType<typeof createRiskService>;
