import type { PayoutAnswer, PayoutProvider } from '../../adapters/payouts/port.js';
import { type Completion, DeferJob, JobFailure, type JobHandler } from '../../jobs/model.js';
import type { Db } from '../../storage/database.js';
import { SEND_PAYOUT } from './model.js';
import { completeFailed, completePaid, findPayout, type PayoutDeps } from './payouts.js';

export interface SendDeps extends PayoutDeps {
  db: Db;
  /** Providers by name; looked up at each run (the demo sets them after the context is built). */
  provider(name: string): PayoutProvider | undefined;
  /** How long to wait before asking again about a payout the provider has not decided (attempt n). */
  waitMs?(attempt: number): number;
}

const defaultWait = (n: number) => Math.min(60_000, 500 * 2 ** Math.min(n, 7));

/**
 * Sends a payout and follows it to its end (docs/settlement.md#never-twice). The payout moves to
 * `sending` and that is committed before the provider is called, so a crash or a lost answer is
 * settled by `lookup` under the same id, and it is sent again only when the provider says it never
 * took it. A new payout (a new id) is made only after the provider said this one failed.
 */
export function sendPayoutHandler(deps: SendDeps): JobHandler<{ payout_id: string }> {
  const wait = deps.waitMs ?? defaultWait;
  return {
    spec: SEND_PAYOUT,
    async handle({ payout_id }, ctx): Promise<Completion | undefined> {
      const p = await findPayout(deps.db, payout_id);
      if (!p || p.status === 'paid' || p.status === 'failed') return undefined;
      const provider = deps.provider(p.provider);
      if (!provider)
        throw new JobFailure('provider_unconfigured', `no payout provider ${p.provider} is configured`);
      const target = await deps.sellers.destination(deps.db, p.destination_id);
      if (!target) throw new JobFailure('destination_missing', `destination ${p.destination_id} is gone`);
      let status = p.status;
      /**
       * Moves the payout on only from the status this run read (compare and set): if an admin
       * resolved it or anything else moved it meanwhile, this run stops before calling anyone.
       */
      const advance = async (
        to: string,
        extra: { provider_ref?: string | null; raw_code?: string | null; sent_at?: number } = {},
      ) => {
        const r = await deps.db
          .updateTable('payouts')
          .set((eb) => ({ status: to, attempts: eb('attempts', '+', 1), updated_at: deps.now(), ...extra }))
          .where('id', '=', p.id)
          .where('status', '=', status)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false;
        status = to;
        return true;
      };
      const neverSent =
        (why: string): Completion =>
        async (trx) => {
          await completeFailed(trx, deps, p.id, { rawCode: why, rawMessage: why });
        };
      const send = async (): Promise<PayoutAnswer | undefined> => {
        // A destination removed since the payout was made is never paid: the payout fails unsent.
        if (!target.active) return undefined;
        if (!(await advance('sending', { sent_at: deps.now() }))) return undefined;
        return safely(() =>
          provider.pay(p.id, target.destination, { amount: p.amount, currency: p.currency }, ctx.signal),
        );
      };

      let answer: PayoutAnswer | undefined;
      if (status === 'created') {
        if (!target.active) return neverSent('destination_removed');
        answer = await send();
        if (!answer) return undefined; // moved meanwhile
      } else {
        // sending (a crash or a lost answer), accepted or unknown: ask before anything else.
        const looked = await safely(() => provider.lookup(p.id, ctx.signal));
        if (looked.state === 'not_found') {
          if (status === 'accepted') {
            // The provider took it once and now does not know it: never resend, wait for it (or a person).
            ctx.logger.warn(
              { payout_id: p.id, provider: p.provider },
              'accepted payout not found at the provider',
            );
            throw new DeferJob(wait(p.attempts + 1), 'accepted payout not found: asking again');
          }
          // Never taken under this id: sending it again under the same id cannot pay twice.
          if (!target.active) return neverSent('destination_removed');
          answer = await send();
          if (!answer) return undefined;
        } else answer = looked as PayoutAnswer;
      }
      if (answer.state === 'failed' && status === 'sending') {
        // A refusal of a send is believed only when the provider's own record agrees.
        const looked = await safely(() => provider.lookup(p.id, ctx.signal));
        if (looked.state === 'paid') answer = looked as PayoutAnswer;
        else if (looked.state !== 'failed' && looked.state !== 'not_found')
          answer = { state: 'unknown', rawCode: `failed_unconfirmed:${answer.rawCode ?? ''}` };
      }
      const decided = answer;
      if (decided.state === 'paid')
        return async (trx) => {
          if (!(await completePaid(trx, deps, p.id, decided)))
            ctx.logger.error(
              { payout_id: p.id, provider: p.provider },
              'the provider paid a payout already recorded as decided; check it by hand',
            );
        };
      if (decided.state === 'failed')
        return async (trx) => {
          await completeFailed(trx, deps, p.id, decided);
        };
      const next = decided.state; // accepted or unknown
      // Accepted is sticky: once the provider took it, a later unknown does not make it resendable.
      const keep = status === 'accepted' ? 'accepted' : next;
      // Always written (also when nothing changed): `updated_at` says the job is alive (the sweep revives silent ones).
      await advance(keep, {
        provider_ref: decided.providerRef ?? p.provider_ref,
        raw_code: decided.rawCode ?? null,
      });
      throw new DeferJob(wait(p.attempts + 1), `payout ${keep}: asking the provider again`);
    },
  };
}

/** A provider call that threw (a bug in an adapter, a transport error it did not map) is an unknown outcome. */
async function safely<T extends { state: string }>(call: () => Promise<T>): Promise<T | PayoutAnswer> {
  try {
    return await call();
  } catch (err) {
    return { state: 'unknown', rawCode: 'call_error', rawMessage: (err as Error).message.slice(0, 200) };
  }
}
