import type { Transaction } from 'kysely';
import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { canonicalIp } from '../../shared/ip-address.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { Committer } from '../../storage/group-commit.js';
import type { Database } from '../../storage/schema.js';
import type { IntakeGuard, IntakeRefusal, IntakeSubjects } from '../orders/index.js';
import type {
  LockoutList,
  LockoutListQuery,
  LockoutReason,
  LockoutSettings,
  LockoutView,
  SubjectKind,
} from './model.js';
import {
  activeLockout,
  activeLockoutsOf,
  countTries,
  countTry,
  findLockout,
  hit,
  insertLockout,
  type LockoutRow,
  listActive,
  releaseLockout,
  type SubjectKey,
  type TryOutcome,
} from './store.js';

export interface LockoutServiceDeps {
  db: Db;
  committer: Committer;
  clock: Clock;
  settings: LockoutSettings;
}

/**
 * The keys a submission is counted under. Sellers, devices and IPs are the channel's word (an IP is
 * the end user's as the channel reports it), so each is counted per channel: one channel cannot lock
 * an address out of the others. Only the card is counted across channels.
 */
function keysOf(s: IntakeSubjects) {
  return {
    cardKey: s.cardHash,
    sellerKey: `${s.channelId}:${s.sellerId}`,
    deviceKey: s.deviceId === null ? null : `${s.channelId}:${s.deviceId}`,
    ipKey: s.clientIp === null ? null : `${s.channelId}:${canonicalIp(s.clientIp)}`,
  };
}

function labelOf(kind: SubjectKind, s: IntakeSubjects): string {
  if (kind === 'card') return s.cardLabel;
  if (kind === 'seller') return `seller ${s.sellerId} of ${s.channelId}`;
  if (kind === 'device') return `device ${s.deviceId} of ${s.channelId}`;
  return `ip ${s.clientIp} of ${s.channelId}`;
}

export function lockoutView(row: LockoutRow, nowMs: number): LockoutView {
  return {
    id: row.id,
    subject_kind: row.subject_kind as SubjectKind,
    subject: row.label,
    reason: row.reason as LockoutReason,
    state: row.released_at !== null ? 'released' : row.expires_at > nowMs ? 'active' : 'expired',
    created_at: rfc3339(row.created_at),
    expires_at: rfc3339(row.expires_at),
    released_at: row.released_at === null ? null : rfc3339(row.released_at),
  };
}

const LOCKED: IntakeRefusal = {
  ok: false,
  code: 'card_locked',
  message: 'This card is locked after too many tries; it cannot be submitted for now.',
  field: 'card_number',
};

export function createLockoutService(deps: LockoutServiceDeps) {
  const { db, clock, settings } = deps;

  async function lockOnce(
    trx: Transaction<Database>,
    kind: SubjectKind,
    key: string,
    subjects: IntakeSubjects,
    reason: LockoutReason,
    nowMs: number,
  ): Promise<void> {
    if (await activeLockout(trx, kind, key, nowMs)) return;
    await insertLockout(trx, {
      id: newId('lck', nowMs),
      subject_kind: kind,
      subject_key: key,
      label: labelOf(kind, subjects),
      reason,
      created_at: nowMs,
      expires_at: nowMs + settings.durationMs,
      released_at: null,
    });
  }

  /** What a counted try gets: the try that reaches the threshold locks the card for the next ones. */
  async function answerTry(
    trx: Transaction<Database>,
    subjects: IntakeSubjects,
    t: TryOutcome,
    nowMs: number,
  ): Promise<IntakeRefusal | null> {
    // A try past the threshold is refused even before its lock is visible (a concurrent
    // transaction's lock on PostgreSQL).
    if (t.count === settings.cardTries && t.locked?.kind !== 'card')
      await lockOnce(trx, 'card', subjects.cardHash, subjects, 'tries', nowMs);
    if (t.count > settings.cardTries || t.locked?.kind === 'card') return LOCKED;
    if (t.locked)
      return fail(
        'too_many_wrong_secrets',
        `Too many cards with a wrong secret from this ${t.locked.kind}; cards from it are refused for now.`,
        { retryAfterS: Math.max(1, Math.ceil((t.locked.untilMs - nowMs) / 1000)) },
      );
    return null;
  }

  const guard: IntakeGuard = {
    async admit(trx, subjects, nowMs) {
      const t = await countTry(trx, keysOf(subjects), settings.cardTriesWindowMs, nowMs);
      return answerTry(trx, subjects, t, nowMs);
    },

    /**
     * Tries of distinct cards (a batch slice) in two statements: every card's count, then the
     * lockouts of every subject. Intake never locks a seller, device or IP, and no card comes twice,
     * so no try here changes what another one is answered.
     */
    async admitMany(trx, tries) {
      if (new Set(tries.map((t) => t.subjects.cardHash)).size !== tries.length)
        throw new Error('admitMany takes each card once');
      const counts = await countTries(
        trx,
        tries.map((t) => ({ cardKey: t.subjects.cardHash, nowMs: t.nowMs })),
        settings.cardTriesWindowMs,
      );
      const asked: { kind: SubjectKind; key: string | null }[][] = tries.map((t) => {
        const keys = keysOf(t.subjects);
        // A card's lock first, as countTry answers (kinds in name order).
        return [
          { kind: 'card', key: keys.cardKey },
          { kind: 'device', key: keys.deviceKey },
          { kind: 'ip', key: keys.ipKey },
          { kind: 'seller', key: keys.sellerKey },
        ];
      });
      const locks = await activeLockoutsOf(
        trx,
        asked.flat().filter((a): a is SubjectKey => a.key !== null),
        Math.min(...tries.map((t) => t.nowMs)),
      );
      // A subject may have two lockouts in force (a try count's and a wrong-secret one): the later
      // end is the one that holds at each try's time.
      const lockOf = new Map<string, number>();
      for (const l of locks) {
        const key = `${l.subject_kind}\u0000${l.subject_key}`;
        lockOf.set(key, Math.max(lockOf.get(key) ?? 0, l.expires_at));
      }
      const answers: (IntakeRefusal | null)[] = [];
      for (const [i, t] of tries.entries()) {
        let locked: TryOutcome['locked'];
        for (const a of asked[i] ?? []) {
          const until = a.key === null ? undefined : lockOf.get(`${a.kind}\u0000${a.key}`);
          if (until !== undefined && until > t.nowMs) {
            locked = { kind: a.kind, untilMs: until };
            break;
          }
        }
        const outcome: TryOutcome = { count: counts[i] ?? 0, ...(locked ? { locked } : {}) };
        answers.push(await answerTry(trx, t.subjects, outcome, t.nowMs));
      }
      return answers;
    },
  };

  return {
    guard,

    /**
     * The issuer said the secret is wrong (or no such card): counts it against the card, the seller,
     * the device and the IP, and locks whichever reaches its threshold. In the caller's transaction.
     */
    async countWrongSecret(trx: Transaction<Database>, subjects: IntakeSubjects, nowMs: number) {
      const keys = keysOf(subjects);
      const subjectsToCount: [SubjectKind, string | null, number][] = [
        ['card', keys.cardKey, settings.cardWrongSecrets],
        ['seller', keys.sellerKey, settings.sellerWrongSecrets],
        ['device', keys.deviceKey, settings.deviceWrongSecrets],
        ['ip', keys.ipKey, settings.ipWrongSecrets],
      ];
      for (const [kind, key, threshold] of subjectsToCount) {
        if (key === null) continue;
        const n = await hit(trx, {
          kind,
          key,
          metric: 'wrong_secret',
          windowMs: settings.wrongSecretsWindowMs,
          nowMs,
        });
        if (n === threshold) await lockOnce(trx, kind, key, subjects, 'wrong_secrets', nowMs);
      }
    },

    /** Lockouts in force now, newest first. */
    async list(q: LockoutListQuery): Promise<LockoutList> {
      const now = clock.now();
      const rows = await listActive(db, now, q.subject_kind, q.limit ?? 100);
      return { data: rows.map((r) => lockoutView(r, now)) };
    },

    /** Ends a lockout at once; its subject's counters start afresh. Releasing twice changes nothing. */
    async release(id: string): Promise<Result<LockoutView, 'resource_not_found'>> {
      const row = await findLockout(db, id);
      if (!row) return fail('resource_not_found', `No lockout ${id}.`, { field: 'params.id' });
      const now = clock.now();
      if (row.released_at !== null) return ok(lockoutView(row, now));
      await deps.committer.run((trx) => releaseLockout(trx, row, now));
      return ok(lockoutView({ ...row, released_at: now }, now));
    },
  };
}

export type LockoutService = ReturnType<typeof createLockoutService>;
