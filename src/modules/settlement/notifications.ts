import type { FastifyPluginAsync } from 'fastify';
import type { NotificationCheck } from '../../adapters/payouts/wechat/adapter.js';
import type { Db } from '../../storage/database.js';
import { completeFailed, completePaid, findPayout, type PayoutDeps } from './payouts.js';

export interface NotificationDeps extends PayoutDeps {
  db: Db;
  /** Checks and opens a WeChat Pay notification; undefined while no WeChat provider is configured. */
  verifyWechat(
    headers: Record<string, string | string[] | undefined>,
    rawBody: string,
  ): NotificationCheck | undefined;
  onSettled?(): void;
}

/**
 * Where payout providers post their notifications (`POST /notify/payouts/wechat`). Not a channel
 * call: it is believed only if the provider's signature verifies and its AES-GCM resource opens.
 * A duplicate notification finds the payout already final and changes nothing (docs/settlement.md).
 */
export function payoutNotificationRoutes(deps: NotificationDeps): FastifyPluginAsync {
  return async (app) => {
    app.post(
      '/notify/payouts/wechat',
      {
        schema: {
          operationId: 'wechatPayoutNotification',
          tags: ['payout providers'],
          summary: 'WeChat Pay transfer-bill notification',
          description:
            'Signed by WeChat Pay (Wechatpay-Signature over timestamp, nonce and body) and AES-256-GCM encrypted with the APIv3 key. 204 once taken; 401 if it does not verify.',
          security: [],
          response: {
            204: { type: 'null', description: 'Taken (also a duplicate, or one about no payout here).' },
            401: {
              type: 'object',
              description: 'The signature, timestamp or encryption did not verify.',
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            },
            404: {
              type: 'object',
              description: 'No WeChat Pay provider is configured here.',
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            },
          },
        },
      },
      async (request, reply) => {
        const raw = request.rawBody?.toString('utf8') ?? '';
        const check = deps.verifyWechat(request.headers, raw);
        if (!check)
          return reply.status(404).send({ code: 'FAIL', message: 'no WeChat Pay provider is configured' });
        if (!check.ok) {
          request.log.warn({ code: check.code }, 'payout notification refused');
          return reply.status(401).send({ code: 'FAIL', message: check.code });
        }
        const payout = await findPayout(deps.db, check.payoutId);
        if (payout?.provider !== 'wechat') {
          // Signed by WeChat Pay but not about one of its payouts here: nothing to do, and it need not resend.
          request.log.warn({ payout_id: check.payoutId }, 'payout notification for no WeChat payout');
          return reply.status(204).send();
        }
        if (check.state === 'paid' || check.state === 'failed') {
          const answer = {
            rawCode: check.rawState,
            ...(check.providerRef ? { providerRef: check.providerRef } : {}),
          };
          const done = await deps.db
            .transaction()
            .execute((trx) =>
              check.state === 'paid'
                ? completePaid(trx, deps, check.payoutId, answer)
                : completeFailed(trx, deps, check.payoutId, answer),
            );
          request.log.info(
            { payout_id: check.payoutId, state: check.state, applied: done, event_id: check.eventId },
            'payout notification',
          );
          if (done) deps.onSettled?.();
        }
        return reply.status(204).send();
      },
    );
  };
}
