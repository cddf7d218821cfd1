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
  countTry,
  findLockout,
  hit,
  insertLockout,
  type LockoutRow,
  listActive,
  releaseLockout,
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

  const guard: IntakeGuard = {
    async admit(trx, subjects, nowMs) {
      const keys = keysOf(subjects);
      const t = await countTry(trx, keys, settings.cardTriesWindowMs, nowMs);
      // The try that reaches the threshold passes and locks the card for the next ones; a try past
      // it is refused even before its lock is visible (a concurrent transaction's lock on PostgreSQL).
      if (t.count === settings.cardTries && t.locked?.kind !== 'card')
        await lockOnce(trx, 'card', keys.cardKey, subjects, 'tries', nowMs);
      if (t.count > settings.cardTries || t.locked?.kind === 'card') return LOCKED;
      if (t.locked)
        return fail(
          'too_many_wrong_secrets',
          `Too many cards with a wrong secret from this ${t.locked.kind}; cards from it are refused for now.`,
          { retryAfterS: Math.max(1, Math.ceil((t.locked.untilMs - nowMs) / 1000)) },
        );
      return null;
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
