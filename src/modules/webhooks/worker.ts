import type { OutboundGuard } from '../../adapters/outbound/index.js';
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
  guard: OutboundGuard;
  userAgent: string;
  /** Tests shorten the schedule; production uses the kind's own. */
  backoff?: BackoffPolicy;
}

/**
 * Delivers a test callback: a signed POST that counts as delivered on any 2xx. Redirects are not
 * followed (a callback URL is where the channel said it is), and internal addresses are refused. Other answers and network failures are
 * recorded on the callback test and retried by the job runtime; when attempts run out it is failed.
 */
export function testDeliveryHandler(deps: DeliveryDeps): JobHandler<{ callback_test_id: string }> {
  return {
    spec: deps.backoff ? { ...TEST_DELIVERY, backoff: deps.backoff } : TEST_DELIVERY,
    async handle({ callback_test_id }) {
      const row = await findCallbackTest(deps.db, callback_test_id);
      if (!row) throw new PermanentJobError(`callback test ${callback_test_id} does not exist`);
      if (row.status !== 'queued') return; // already settled by an earlier run
      const profile = await deps.channels.callbackProfile(row.channel_id);
      if (!profile) throw new PermanentJobError(`channel ${row.channel_id} does not exist`);

      const body = JSON.stringify({
        type: 'callback.test',
        created_at: rfc3339(row.created_at),
        data: { callback_test_id: row.id, channel_id: row.channel_id },
      });
      const headers = webhookHeaders(profile.webhookSecrets, {
        id: row.id,
        timestamp: Math.floor(deps.clock.now() / 1000),
        body,
      });
      // Through the outbound guard: internal addresses are refused again here, after resolution.
      const r = await deps.guard.post(
        row.url,
        { ...headers, 'content-type': 'application/json', 'user-agent': deps.userAgent },
        body,
      );
      if (!r.ok) {
        await recordAttempt(deps.db, row.id, {
          status: 'queued',
          statusCode: null,
          error: r.message,
          nowMs: deps.clock.now(),
        });
        if (r.code === 'address_refused' || r.code === 'url_invalid') throw new PermanentJobError(r.message);
        throw new Error(`callback delivery failed: ${r.message}`);
      }
      const status = r.status;
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
