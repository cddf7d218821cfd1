import type { JobHandler } from '../../jobs/model.js';
import { type BackoffPolicy, PermanentJobError } from '../../jobs/model.js';
import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import type { ChannelService } from '../channels/index.js';
import { TEST_DELIVERY } from './model.js';
import { webhookHeaders } from './signing.js';
import { findCallbackTest, markFailed, recordAttempt } from './store.js';

export interface DeliveryDeps {
  db: Db;
  channels: ChannelService;
  clock: Clock;
  timeoutMs: number;
  userAgent: string;
  /** Tests shorten the schedule; production uses the kind's own. */
  backoff?: BackoffPolicy;
}

/**
 * Delivers a test callback: a signed POST that counts as delivered on any 2xx. Redirects are not
 * followed (a callback URL is where the channel said it is). Other answers and network failures are
 * recorded on the callback test and retried by the job runtime; when attempts run out it is failed.
 */
export function testDeliveryHandler(deps: DeliveryDeps): JobHandler<{ callback_test_id: string }> {
  return {
    spec: deps.backoff ? { ...TEST_DELIVERY, backoff: deps.backoff } : TEST_DELIVERY,
    async handle({ callback_test_id }, ctx) {
      const row = await findCallbackTest(deps.db, callback_test_id);
      if (!row) throw new PermanentJobError(`callback test ${callback_test_id} does not exist`);
      if (row.status !== 'queued') return; // already settled by an earlier run
      const webhookSecret = await deps.channels.webhookSecret(row.channel_id);
      if (!webhookSecret) throw new PermanentJobError(`channel ${row.channel_id} does not exist`);

      const body = JSON.stringify({
        type: 'callback.test',
        created_at: rfc3339(row.created_at),
        data: { callback_test_id: row.id, channel_id: row.channel_id },
      });
      const headers = webhookHeaders(webhookSecret, {
        id: row.id,
        timestamp: Math.floor(deps.clock.now() / 1000),
        body,
      });
      let status: number;
      try {
        const res = await fetch(row.url, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', 'user-agent': deps.userAgent },
          body,
          redirect: 'manual',
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(deps.timeoutMs)]),
        });
        status = res.status;
        await res.body?.cancel();
      } catch (err) {
        const reason =
          err instanceof Error && err.name === 'TimeoutError'
            ? `no answer within ${deps.timeoutMs} ms`
            : 'connection failed';
        await recordAttempt(deps.db, row.id, {
          status: 'queued',
          statusCode: null,
          error: reason,
          nowMs: deps.clock.now(),
        });
        throw new Error(`callback delivery failed: ${reason}`);
      }
      const ok = status >= 200 && status < 300;
      await recordAttempt(deps.db, row.id, {
        status: ok ? 'delivered' : 'queued',
        statusCode: status,
        error: ok ? null : `answered HTTP ${status}`,
        nowMs: deps.clock.now(),
      });
      if (!ok) throw new Error(`callback answered HTTP ${status}`);
    },
    async onDead({ callback_test_id }, _lastError, trx) {
      await markFailed(trx, callback_test_id, deps.clock.now());
    },
  };
}
