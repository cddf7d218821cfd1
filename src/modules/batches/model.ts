import { type Static, Type } from '@sinclair/typebox';
import { defineJobKind } from '../../jobs/model.js';

/** How a file's lines are written (docs/batches.md#formats). */
export const FILE_FORMATS = ['csv', 'text', 'xlsx'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export const BATCH_STATUSES = ['processing', 'completed', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** What became of a line, as the report and the counts say it (an order's status folded to its outcome). */
export const LINE_OUTCOMES = [
  'pending',
  'refused',
  'cancelled',
  'verifying',
  'redeemed',
  'invalid',
  'failed',
  'review',
  'rejected',
  'frozen',
] as const;
export type LineOutcome = (typeof LINE_OUTCOMES)[number];

const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Lit = <T extends readonly string[]>(xs: T) => Type.Union(xs.map((x) => Type.Literal(x)));
const Count = (description: string) => Type.Integer({ minimum: 0, description });

/** The upload's parameters: in the query string, so that the signature covers them (docs/signing.md#batches). */
export const UploadQuery = Type.Object(
  {
    merchant_batch_id: Type.String({
      minLength: 1,
      maxLength: 48,
      pattern: '^[\\x21-\\x7e]+$',
      description:
        "The channel's own id for this file; repeating it with the same file returns the first batch.",
    }),
    format: Type.Union([Type.Literal('csv'), Type.Literal('text'), Type.Literal('xlsx')]),
    card_type: Type.Optional(
      Type.String({ minLength: 1, maxLength: 40, description: 'Text files: the card type of every line.' }),
    ),
    declared_face_value: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100_000_000,
        description: 'Text files: the face value of every line, in minor units.',
      }),
    ),
    seller_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'The seller of every card of the file; default the channel itself (a B2B partner selling its stock).',
      }),
    ),
    encoding: Type.Optional(
      Type.Union([Type.Literal('utf-8'), Type.Literal('gb18030')], {
        description: "Text and CSV: the file's encoding; detected when absent (UTF-8 or GB18030/GBK).",
      }),
    ),
  },
  { additionalProperties: false },
);
export type UploadQuery = Static<typeof UploadQuery>;

export const BatchCounts = Type.Object(
  {
    read: Count('Card lines read from the file (blank lines not counted).'),
    accepted: Count('Lines that became an order.'),
    refused: Count('Lines refused alone (format, duplicate, price, limits…), with their code in the report.'),
    pending: Count('Lines not yet turned into an order.'),
    cancelled: Count(
      'Lines cancelled before they became an order, or whose order was cancelled before verification.',
    ),
    verifying: Count('Orders waiting for or in verification.'),
    redeemed: Count('Orders the issuer redeemed (settled and paid ones included).'),
    invalid: Count('Orders the issuer refused.'),
    failed: Count('Orders given up after retries.'),
    review: Count('Orders waiting for a person.'),
    rejected: Count('Orders rejected by policy, risk or a reviewer.'),
    frozen: Count('Orders frozen by risk.'),
  },
  { title: 'BatchCounts' },
);
export type BatchCounts = Static<typeof BatchCounts>;

export const BatchAmount = Type.Object({
  currency: Type.String(),
  declared: Type.Integer({ description: 'Declared face value of the accepted lines, minor units.' }),
  redeemed: Type.Integer({ description: 'Face value the issuer redeemed, minor units.' }),
});

export const BatchView = Type.Object(
  {
    id: Type.String({ examples: ['bat_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    merchant_batch_id: Type.String(),
    source: Lit(['api', 'file_drop'] as const),
    file_name: Nullable(Type.String()),
    file_sha256: Type.String({ description: 'SHA-256 (hex) of the file as received.' }),
    file_bytes: Type.Integer(),
    format: Lit(FILE_FORMATS),
    encoding: Nullable(Type.String({ description: 'The text encoding read (text and CSV).' })),
    status: Lit(BATCH_STATUSES),
    line_count: Type.Integer({ description: 'Card lines in the file.' }),
    counts: BatchCounts,
    amounts: Type.Array(BatchAmount, { description: 'Per card currency.' }),
    report: Type.Object({
      url: Type.String({ description: 'GET it (signed) for the per-line report, `?format=csv` or `xlsx`.' }),
      sha256: Nullable(
        Type.String({
          description:
            'SHA-256 (hex) of the CSV report made when the batch completed; the download carries the digest of what it sends in X-Recard-Content-SHA256.',
        }),
      ),
    }),
    created_at: Time,
    updated_at: Time,
    completed_at: Nullable(Time),
  },
  { title: 'Batch' },
);
export type BatchView = Static<typeof BatchView>;

export const BatchParams = Type.Object({ id: Type.String({ pattern: '^bat_[0-9a-z]{26}$' }) });
export const ReportQuery = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('xlsx')])) },
  { additionalProperties: false },
);

/** Turns one slice of a batch's lines into orders. */
export const BATCH_CHUNK = defineJobKind<{ batch_id: string; from_line: number; to_line: number }>({
  kind: 'batches.chunk',
  maxAttempts: 10,
  timeoutMs: 5 * 60_000,
  backoff: { baseMs: 1_000, capMs: 30_000 },
  // Two slots, and a file's chunks one at a time in line order (an ordering key per batch): two files
  // are written side by side, and single orders' units still get the committer between slices.
  concurrency: 2,
});

/** Watches a batch until every line has an outcome: `batch.progress` as counts move, then `batch.completed`. */
export const BATCH_PROGRESS = defineJobKind<{ batch_id: string }>({
  kind: 'batches.progress',
  maxAttempts: 20,
  timeoutMs: 60_000,
  backoff: { baseMs: 2_000, capMs: 60_000 },
});

/** Removes uploads that never finished (a process that died mid-upload). */
export const PRUNE_UPLOADS = defineJobKind<{ older_than_ms: number }>({
  kind: 'batches.prune_uploads',
  maxAttempts: 3,
  timeoutMs: 60_000,
  backoff: { baseMs: 5_000, capMs: 60_000 },
});

/** Lines one chunk job turns into orders. */
export const CHUNK_LINES = 1_000;
