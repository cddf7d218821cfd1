import type { Clock } from '../../shared/clock.js';
import type { ChannelService } from '../channels/index.js';
import type { Subscriber } from '../events/index.js';
import { DELIVER } from './model.js';
import { destinationsOf, queueDelivery } from './queue.js';
import { enabledEndpoints } from './store.js';

export interface CallbackSubscriberDeps {
  channels: ChannelService;
  clock: Clock;
  /** Every event type channels see: each may have endpoints waiting for it. */
  types: readonly string[];
  /** Called after the deliveries were written, so that the delivery slots look at once. */
  onQueued?: (kinds: string[]) => void;
}

/**
 * Callbacks as a subscriber of the event backbone: each channel event becomes one delivery per
 * destination, written in the transaction that takes the event, so none is lost or made twice.
 */
export function callbackSubscriber(deps: CallbackSubscriberDeps): Subscriber {
  return {
    name: 'callbacks',
    types: deps.types,
    concurrency: 32,
    async handle(event, trx) {
      if (event.channel_id === null) return;
      const profile = await deps.channels.callbackTarget(event.channel_id, trx);
      if (!profile) return;
      const endpoints = await enabledEndpoints(trx, event.channel_id);
      const now = deps.clock.now();
      const to = destinationsOf(event, profile.callbackUrl, endpoints);
      for (const d of to) await queueDelivery(trx, event.channel_id, event, d, now);
      if (to.length > 0) deps.onQueued?.([DELIVER.kind]);
    },
  };
}
