import type { OutboundGuard } from '../../adapters/outbound/index.js';
import { enqueueJob } from '../../jobs/store.js';
import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { Committer } from '../../storage/group-commit.js';
import type { ChannelView } from '../channels/index.js';
import type { CallbackTestError } from './errors.js';
import { type CallbackTestRequest, type CallbackTestView, TEST_DELIVERY } from './model.js';
import { type CallbackTestRow, findCallbackTest, insertCallbackTest } from './store.js';
import { checkStatic } from './urls.js';

export interface CallbackTestServiceDeps {
  db: Db;
  guard: OutboundGuard;
  committer: Committer;
  clock: Clock;
  /** Called after a commit that queued work, so an in-process worker starts at once. */
  onJobQueued?: () => void;
}

export function callbackTestView(row: CallbackTestRow): CallbackTestView {
  return {
    id: row.id,
    status: row.status,
    url: row.url,
    attempts: row.attempts,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    created_at: rfc3339(row.created_at),
    delivered_at: row.delivered_at === null ? null : rfc3339(row.delivered_at),
  };
}

export function createCallbackTestService({
  db,
  guard,
  committer,
  clock,
  onJobQueued,
}: CallbackTestServiceDeps) {
  return {
    /** Stores the request and its delivery job in one transaction: both exist or neither does. */
    async request(
      channel: ChannelView,
      input: CallbackTestRequest,
    ): Promise<Result<CallbackTestView, CallbackTestError['code']>> {
      const url = input.url ?? channel.callback_url;
      if (!url) {
        return fail(
          'callback_url_required',
          'Give a url, or have the operator set a callback URL for this channel.',
          {
            field: 'url',
          },
        );
      }
      // The rules that need no lookup: a name that does not resolve is what a test callback finds out.
      const refused = checkStatic(guard, url, input.url === undefined ? 'callback_url' : 'url');
      if (refused) return refused;
      const now = clock.now();
      const row: CallbackTestRow = {
        id: newId('cbt', now),
        channel_id: channel.id,
        url,
        status: 'queued',
        attempts: 0,
        last_status_code: null,
        last_error: null,
        created_at: now,
        updated_at: now,
        delivered_at: null,
      };
      await committer.run(async (trx) => {
        await insertCallbackTest(trx, row);
        await enqueueJob(trx, TEST_DELIVERY, { callback_test_id: row.id }, now);
      });
      onJobQueued?.();
      return ok(callbackTestView(row));
    },

    /** A channel sees only its own; another channel's id is "not found", not "forbidden". */
    async get(
      channel: ChannelView,
      id: string,
    ): Promise<Result<CallbackTestView, CallbackTestError['code']>> {
      const row = await findCallbackTest(db, id);
      if (!row || row.channel_id !== channel.id)
        return fail('resource_not_found', `No callback test ${id}.`, { field: 'id' });
      return ok(callbackTestView(row));
    },
  };
}

export type CallbackTestService = ReturnType<typeof createCallbackTestService>;
