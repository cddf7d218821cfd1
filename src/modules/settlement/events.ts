import { Type } from '@sinclair/typebox';
import { defineEventType, type EventTypeSpec } from '../events/index.js';
import { PayoutView } from './model.js';

export const PayoutEventData = Type.Object({ payout: PayoutView }, { title: 'PayoutEventData' });

const example = {
  payout: {
    id: 'po_01jq3v6y0k8w5m2d9c4f7h1r3t',
    channel_id: 'ch_01jq3v6y0k8w5m2d9c4f7h1r3a',
    seller_id: 's1',
    destination_id: 'dst_01jq3v6y0k8w5m2d9c4f7h1r3b',
    provider: 'alipay',
    status: 'paid' as const,
    amount: 9600,
    fee: 0,
    currency: 'CNY',
    order_count: 1,
    order_ids: ['ord_01jq3v6y0k8w5m2d9c4f7h1r3t'],
    batch_id: null,
    provider_ref: '20261201110070001506',
    reason: null,
    attempts: 1,
    created_at: '2026-12-01T08:00:01.300Z',
    finished_at: '2026-12-01T08:00:01.420Z',
  },
};

export const PAYOUT_PAID = defineEventType({
  type: 'payout.paid',
  version: 1,
  description: "A payout reached the seller's destination; each of its orders has its own `order.paid`.",
  visibility: 'channel',
  data: PayoutEventData,
  example,
});

export const PAYOUT_FAILED = defineEventType({
  type: 'payout.failed',
  version: 1,
  description:
    'The provider refused a payout; nothing was paid, the seller is owed the amount again and the orders wait for the next payout.',
  visibility: 'channel',
  data: PayoutEventData,
  example: {
    payout: { ...example.payout, status: 'failed' as const, provider_ref: null, reason: 'PAYEE_NOT_EXIST' },
  },
});

export const PAYOUT_EVENT_TYPES: readonly EventTypeSpec[] = [PAYOUT_PAID, PAYOUT_FAILED];
