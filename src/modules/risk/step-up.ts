import type { Transaction } from 'kysely';
import type { SmsSender } from '../../adapters/sms/index.js';
import { defineJobKind, type JobHandler, PermanentJobError } from '../../jobs/model.js';
import { enqueueJob } from '../../jobs/store.js';
import type { Clock } from '../../shared/clock.js';
import { type Keyring, open, safeEqual, seal } from '../../shared/crypto.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import type { IntakeRiskInput } from './intake.js';

/**
 * Step-up codes (docs/risk.md#step-up): when a geo jump sends an order to review and the channel
 * gave the seller's phone, a six-digit code is sent by SMS; the seller gives it back through the
 * channel, and the reviewer sees whether they did. The phone is kept sealed, the code as a keyed
 * hash only, and the SMS leaves the process from a job, never from the intake's transaction.
 */
export const SEND_STEP_UP = defineJobKind<{ order_id: string }>({
  kind: 'risk.step_up_sms',
  maxAttempts: 6,
  timeoutMs: 30_000,
  backoff: { baseMs: 2_000, capMs: 60_000 },
});

export const STEP_UP_TTL_MS = 10 * 60_000;
export const STEP_UP_MAX_ATTEMPTS = 5;

export interface StepUpDeps {
  db: Db;
  clock: Clock;
  keyring: Keyring;
  keyedHash(text: string): string;
  sms: SmsSender | null;
  onQueued?: () => void;
}

const phoneContext = (orderId: string) => `risk:step-up-phone:${orderId}`;
const codeHash = (deps: Pick<StepUpDeps, 'keyedHash'>, orderId: string, code: string) =>
  deps.keyedHash(`step-up:${orderId}:${code}`);

/** Six digits from a keyed hash of the order: unguessable without the deployment's key. */
function codeOf(deps: Pick<StepUpDeps, 'keyedHash'>, orderId: string, createdAt: number): string {
  const h = deps.keyedHash(`step-up-code:${orderId}:${createdAt}`);
  return String(Number.parseInt(h.replace(/[^0-9a-f]/gi, '').slice(0, 12), 16) % 1_000_000).padStart(6, '0');
}

export interface StepUpView {
  status: string;
  phone_last4: string;
  sent_at: string | null;
  verified_at: string | null;
  attempts: number;
}

export function createStepUps(deps: StepUpDeps) {
  return {
    /** Whether codes can be sent at all (an SMS gateway is configured). */
    available: deps.sms !== null,

    /** In the intake's transaction: the challenge row and the job that sends its code. */
    async request(trx: Transaction<Database>, input: IntakeRiskInput, nowMs: number): Promise<void> {
      if (!deps.sms || !input.sellerPhone) return;
      await trx
        .insertInto('risk_step_ups')
        .values({
          order_id: input.orderId,
          channel_id: input.channelId,
          phone_sealed: seal(deps.keyring, input.sellerPhone, phoneContext(input.orderId)),
          phone_last4: input.sellerPhone.slice(-4),
          code_hash: '',
          attempts: 0,
          status: 'pending',
          created_at: nowMs,
          expires_at: nowMs + STEP_UP_TTL_MS,
          sent_at: null,
          verified_at: null,
        })
        .execute();
      await enqueueJob(trx, SEND_STEP_UP, { order_id: input.orderId }, nowMs);
      deps.onQueued?.();
    },

    /** The seller's answer, relayed by the channel: right once, within the time and the tries. */
    async verify(
      channelId: string,
      orderId: string,
      code: string,
    ): Promise<Result<StepUpView, 'resource_not_found' | 'step_up_code_invalid' | 'step_up_expired'>> {
      const now = deps.clock.now();
      const row = await deps.db
        .selectFrom('risk_step_ups')
        .selectAll()
        .where('order_id', '=', orderId)
        .where('channel_id', '=', channelId)
        .executeTakeFirst();
      if (!row || row.status === 'pending')
        return fail('resource_not_found', `No step-up code was sent for order ${orderId}.`, {
          field: 'params.id',
        });
      if (row.status === 'verified') return ok(view(row));
      if (row.status !== 'sent' || Number(row.expires_at) <= now || row.attempts >= STEP_UP_MAX_ATTEMPTS)
        return fail(
          'step_up_expired',
          'This code has expired or was tried too often; a reviewer will decide.',
          {
            field: 'code',
          },
        );
      const right = safeEqual(codeHash(deps, orderId, code), row.code_hash);
      const next = right
        ? { status: 'verified', verified_at: now, attempts: row.attempts + 1 }
        : { attempts: row.attempts + 1 };
      // Conditioned on the attempts read: two answers at once count as two tries.
      const done = await deps.db
        .updateTable('risk_step_ups')
        .set(next)
        .where('order_id', '=', orderId)
        .where('attempts', '=', row.attempts)
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) !== 1)
        return fail('step_up_code_invalid', 'The code was being checked already; try again.', {
          field: 'code',
        });
      if (!right) return fail('step_up_code_invalid', 'The code is not right.', { field: 'code' });
      return ok(view({ ...row, ...next }));
    },

    async of(from: Db, orderId: string): Promise<StepUpView | null> {
      const row = await from
        .selectFrom('risk_step_ups')
        .selectAll()
        .where('order_id', '=', orderId)
        .executeTakeFirst();
      return row ? view(row) : null;
    },

    /** The job: a fresh code per attempt (only its hash is kept), sent under the order's id. */
    handler(): JobHandler<{ order_id: string }> {
      return {
        spec: SEND_STEP_UP,
        async handle(payload) {
          const sms = deps.sms;
          if (!sms) throw new PermanentJobError('no SMS gateway is configured');
          const row = await deps.db
            .selectFrom('risk_step_ups')
            .selectAll()
            .where('order_id', '=', payload.order_id)
            .executeTakeFirst();
          if (row?.status !== 'pending') return;
          // The same code on every attempt (made from the deployment's hash key, never stored), so a
          // retried send is the same message under the same reference and the gateway sends it once.
          const code = codeOf(deps, row.order_id, Number(row.created_at));
          const phone = open(deps.keyring, row.phone_sealed, phoneContext(row.order_id));
          await deps.db
            .updateTable('risk_step_ups')
            .set({ code_hash: codeHash(deps, row.order_id, code) })
            .where('order_id', '=', row.order_id)
            .where('status', '=', 'pending')
            .execute();
          const sent = await sms.send({
            to: phone,
            text: `Recard: your verification code is ${code}. It is valid for 10 minutes.`,
            reference: `stepup_${row.order_id}`,
          });
          if (!sent.ok) {
            if (sent.retryable) throw new Error(`SMS gateway: ${sent.code}`);
            await deps.db
              .updateTable('risk_step_ups')
              .set({ status: 'failed' })
              .where('order_id', '=', row.order_id)
              .execute();
            return;
          }
          await deps.db
            .updateTable('risk_step_ups')
            .set({ status: 'sent', sent_at: deps.clock.now() })
            .where('order_id', '=', row.order_id)
            .where('status', '=', 'pending')
            .execute();
        },
      };
    },
  };
}

function view(r: {
  status: string;
  phone_last4: string;
  sent_at: number | null;
  verified_at: number | null;
  attempts: number;
}): StepUpView {
  return {
    status: r.status,
    phone_last4: r.phone_last4,
    sent_at: r.sent_at === null ? null : new Date(Number(r.sent_at)).toISOString(),
    verified_at: r.verified_at === null ? null : new Date(Number(r.verified_at)).toISOString(),
    attempts: r.attempts,
  };
}

export type StepUps = ReturnType<typeof createStepUps>;
