import { Type } from '@sinclair/typebox';
import { defineEventType, type EventTypeSpec } from '../events/index.js';
import { BatchView } from './model.js';

export const BatchEventData = Type.Object({ batch: BatchView }, { title: 'BatchEventData' });

const counts = {
  read: 3,
  accepted: 2,
  refused: 1,
  pending: 0,
  cancelled: 0,
  verifying: 1,
  redeemed: 1,
  invalid: 0,
  failed: 0,
  review: 0,
  rejected: 0,
  frozen: 0,
};

const example = {
  batch: {
    id: 'bat_01jq3v6y0k8w5m2d9c4f7h1r3t',
    merchant_batch_id: 'stock-2026-12-02',
    source: 'api' as const,
    file_name: 'cards.txt',
    file_sha256: 'b1c3a1f0c8e7d6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1',
    file_bytes: 117,
    format: 'text' as const,
    encoding: 'gb18030',
    status: 'processing' as const,
    line_count: 3,
    counts,
    amounts: [{ currency: 'CNY', declared: 20000, redeemed: 10000 }],
    report: { url: '/v1/batches/bat_01jq3v6y0k8w5m2d9c4f7h1r3t/report', sha256: null },
    created_at: '2026-12-02T08:00:00.000Z',
    updated_at: '2026-12-02T08:00:02.000Z',
    completed_at: null,
  },
};

export const BATCH_PROGRESS_EVENT = defineEventType({
  type: 'batch.progress',
  version: 1,
  description:
    "A batch's counts moved (sent at most every two seconds while it runs); each line's order has its own order events.",
  visibility: 'channel',
  data: BatchEventData,
  example,
});

export const BATCH_COMPLETED_EVENT = defineEventType({
  type: 'batch.completed',
  version: 1,
  description:
    'Every line of a batch has an outcome (an order verified, invalid, failed, in review or held; or the line refused or cancelled); the report is ready.',
  visibility: 'channel',
  data: BatchEventData,
  example: {
    batch: {
      ...example.batch,
      status: 'completed' as const,
      counts: { ...counts, verifying: 0, redeemed: 2 },
      amounts: [{ currency: 'CNY', declared: 20000, redeemed: 20000 }],
      report: {
        url: example.batch.report.url,
        sha256: '5d41402abc4b2a76b9719d911017c592ae2f8f1f0e5b9c1d2e3f4a5b6c7d8e9f',
      },
      completed_at: '2026-12-02T08:00:09.000Z',
    },
  },
});

export const BATCH_EVENT_TYPES: readonly EventTypeSpec[] = [BATCH_PROGRESS_EVENT, BATCH_COMPLETED_EVENT];
