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
      const destination = await deps.sellers.destination(deps.db, p.destination_id);
      if (!destination)
        throw new JobFailure('destination_missing', `destination ${p.destination_id} is gone`);
      const bump = (status: string, extra: { provider_ref?: string | null; sent_at?: number } = {}) =>
        deps.db
          .updateTable('payouts')
          .set((eb) => ({ status, attempts: eb('attempts', '+', 1), updated_at: deps.now(), ...extra }))
          .where('id', '=', p.id)
          .where('status', 'not in', ['paid', 'failed'])
          .execute();
      const send = async (): Promise<PayoutAnswer> => {
        await bump('sending', { sent_at: deps.now() });
        return safely(() =>
          provider.pay(p.id, destination, { amount: p.amount, currency: p.currency }, ctx.signal),
        );
      };

      let answer: PayoutAnswer;
      if (p.status === 'created') answer = await send();
      else {
        // sending (a crash or a lost answer), accepted or unknown: ask before anything else.
        const looked = await safely(() => provider.lookup(p.id, ctx.signal));
        if (looked.state === 'not_found') {
          // Never taken under this id: sending it again under the same id cannot pay twice.
          answer =
            p.status === 'accepted' ? { state: 'unknown', rawCode: 'accepted_then_not_found' } : await send();
        } else {
          await bump(p.status);
          answer = looked as PayoutAnswer;
        }
      }
      if (answer.state === 'paid')
        return (trx) => completePaid(trx, deps, p.id, answer).then(() => undefined);
      if (answer.state === 'failed')
        return (trx) => completeFailed(trx, deps, p.id, answer).then(() => undefined);
      await deps.db
        .updateTable('payouts')
        .set({
          status: answer.state,
          provider_ref: answer.providerRef ?? p.provider_ref,
          raw_code: answer.rawCode ?? null,
          updated_at: deps.now(),
        })
        .where('id', '=', p.id)
        .where('status', 'not in', ['paid', 'failed'])
        .execute();
      throw new DeferJob(wait(p.attempts + 1), `payout ${answer.state}: asking the provider again`);
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
