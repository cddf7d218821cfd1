import { Value } from '@sinclair/typebox/value';
import type { Transaction } from 'kysely';
import type { KeyringSource } from '../../config/keys.js';
import { DeferJob, type JobHandler } from '../../jobs/model.js';
import { enqueueJob } from '../../jobs/store.js';
import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { open } from '../../shared/crypto.js';
import type { ErrorCode } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db, Dialect } from '../../storage/database.js';
import { isUniqueViolation } from '../../storage/errors.js';
import type { Committer } from '../../storage/group-commit.js';
import type { Database } from '../../storage/schema.js';
import type { CardTypeService } from '../cards/index.js';
import type { ChannelView } from '../channels/index.js';
import type { EventLog } from '../events/index.js';
import { type OrderService, SubmitOrder } from '../orders/index.js';
import { BATCH_COMPLETED_EVENT, BATCH_PROGRESS_EVENT } from './events.js';
import { LineStager, lineContext, tapUpload, type UploadMeta, UploadRefused } from './intake.js';
import {
  BATCH_CHUNK,
  BATCH_PROGRESS,
  type BatchCounts,
  type BatchView,
  CHUNK_LINES,
  type LineOutcome,
  PRUNE_UPLOADS,
} from './model.js';
import { BatchFileError, batchFileEncoding, parseBatchFile } from './parse.js';
import { type ReportRow, reportCsv, reportXlsx, sha256Hex } from './report.js';
import {
  type BatchRow,
  batchById,
  byMerchantBatchId,
  cancelPending,
  channelBatch,
  channelBatches,
  deleteBatch,
  insertBatch,
  insertLines,
  type LineOutcomeUpdate,
  lineCounts,
  linesPage,
  type NewLine,
  orderedLineIds,
  pendingLines,
  setStatus,
  settleLines,
  staleUploads,
  startProcessing,
  touchBatch,
} from './store.js';

export interface BatchServiceDeps {
  db: Db;
  dialect: Dialect;
  committer: Committer;
  clock: Clock;
  cardKeys: KeyringSource;
  cardTypes: Pick<CardTypeService, 'find'>;
  orders: Pick<OrderService, 'submitMany' | 'batchCounts' | 'batchOrders' | 'change'>;
  /** The channel as it is now (a suspended channel's lines are refused). */
  channel(id: string): Promise<ChannelView | undefined>;
  events: Pick<EventLog, 'append'>;
  maxLines: number;
  maxBytes: number;
  /** How often a running batch's counts are looked at (`batch.progress` at most this often). */
  progressEveryMs?: number;
  onJobQueued?: (kinds: string[]) => void;
}

/** Lines staged per unit while a file streams in. */
const STAGE_LINES = 1_000;
/** Lines a chunk job submits at once: the committer writes them in few transactions. */
const SUBMIT_AT_ONCE = 250;
const REPORT_PAGE = 2_000;

const lineRefusal = (
  line: number,
  code: string,
  message: string,
  field: string | null,
): LineOutcomeUpdate => ({
  line,
  status: 'refused',
  code,
  message,
  field,
});

type BatchError = ErrorCode;

const OUTCOME_OF_STATUS: Record<string, LineOutcome> = {
  submitted: 'verifying',
  verifying: 'verifying',
  redeemed: 'redeemed',
  settled: 'redeemed',
  paid: 'redeemed',
  invalid: 'invalid',
  failed: 'failed',
  review: 'review',
  rejected: 'rejected',
  frozen: 'frozen',
};

/** The reason an order of a cancelled batch is rejected with, before verification. */
export const CANCELLED_REASON = 'batch_cancelled';

/** A line's outcome from its order's status (a rejection for the batch's cancel is `cancelled`). */
const outcomeOf = (status: string, reason: string | null): LineOutcome =>
  status === 'rejected' && reason === CANCELLED_REASON
    ? 'cancelled'
    : (OUTCOME_OF_STATUS[status] ?? 'verifying');

const emptyCounts = (): BatchCounts => ({
  read: 0,
  accepted: 0,
  refused: 0,
  pending: 0,
  cancelled: 0,
  verifying: 0,
  redeemed: 0,
  invalid: 0,
  failed: 0,
  review: 0,
  rejected: 0,
  frozen: 0,
});

/** How old the counts a poll of a batch gets may be. */
const VIEW_FRESH_MS = 1000;

export function createBatchService(deps: BatchServiceDeps) {
  const { db, committer, clock } = deps;
  const progressEveryMs = deps.progressEveryMs ?? 2_000;

  async function countsOf(from: Db, row: BatchRow) {
    const counts = emptyCounts();
    const lines = await lineCounts(from, row.id);
    counts.read = row.line_count;
    counts.accepted = lines.ordered;
    counts.refused = lines.refused;
    counts.pending = lines.pending;
    counts.cancelled = lines.cancelled;
    const amounts = new Map<string, { currency: string; declared: number; redeemed: number }>();
    for (const o of await deps.orders.batchCounts(from, row.id)) {
      const outcome = outcomeOf(o.status, o.reason);
      counts[outcome as keyof BatchCounts] += o.count;
      const a = amounts.get(o.currency) ?? { currency: o.currency, declared: 0, redeemed: 0 };
      a.declared += o.declared;
      if (outcome === 'redeemed') a.redeemed += o.actual;
      amounts.set(o.currency, a);
    }
    return { counts, amounts: [...amounts.values()] };
  }

  async function view(from: Db, row: BatchRow): Promise<BatchView> {
    const { counts, amounts } = await countsOf(from, row);
    return {
      id: row.id,
      merchant_batch_id: row.merchant_batch_id,
      source: row.source,
      file_name: row.file_name,
      file_sha256: row.file_sha256,
      file_bytes: Number(row.file_bytes),
      format: row.format,
      encoding: row.encoding,
      status: row.status === 'receiving' ? 'processing' : row.status,
      line_count: row.line_count,
      counts,
      amounts,
      report: { url: `/v1/batches/${row.id}/report`, sha256: row.report_sha256 },
      created_at: rfc3339(Number(row.created_at)),
      updated_at: rfc3339(Number(row.updated_at)),
      completed_at: row.completed_at === null ? null : rfc3339(Number(row.completed_at)),
    };
  }

  /** The first batch of a merchant_batch_id, or a conflict: the same file gives the same batch. */
  async function repeatOf(existing: BatchRow, sha256: string) {
    if (existing.status === 'receiving')
      return fail('batch_in_progress', 'A batch with this merchant_batch_id is still being uploaded.', {
        field: 'merchant_batch_id',
      });
    if (existing.file_sha256 !== sha256)
      return fail(
        'idempotency_conflict',
        'This merchant_batch_id was used with another file; use a new id for a new file.',
        { field: 'merchant_batch_id' },
      );
    return ok({ batch: await view(db, existing), created: false });
  }

  async function drain(body: AsyncIterable<Buffer>, maxBytes: number) {
    const tap = tapUpload(body, maxBytes);
    for await (const _ of tap.stream);
    return tap.digest();
  }

  /** A repeat's file, read through: the digest it was signed with, else the one of its bytes. */
  async function repeatDigest(meta: UploadMeta, body: AsyncIterable<Buffer>): Promise<string> {
    const read = await drain(body, meta.declaredSha256 ? Number.POSITIVE_INFINITY : deps.maxBytes);
    return meta.declaredSha256 ?? read.sha256;
  }

  function checkMeta(meta: UploadMeta) {
    const isText = meta.format === 'text';
    if (isText && meta.cardType === undefined)
      return fail('invalid_request', 'A text file needs card_type: its lines carry only number and secret.', {
        field: 'card_type',
      });
    if (isText && meta.declaredFaceValue === undefined)
      return fail('invalid_request', 'A text file needs declared_face_value (minor units) for its lines.', {
        field: 'declared_face_value',
      });
    if (!isText && (meta.cardType !== undefined || meta.declaredFaceValue !== undefined))
      return fail(
        'invalid_request',
        `A ${meta.format} file gives card_type and declared_face_value on each line; do not give them for the file.`,
        { field: meta.cardType !== undefined ? 'card_type' : 'declared_face_value' },
      );
    return undefined;
  }

  async function enqueueProcessing(trx: Db, batchId: string, lastLine: number, now: number) {
    for (let from = 1; from <= lastLine; from += CHUNK_LINES)
      await enqueueJob(
        trx,
        BATCH_CHUNK,
        { batch_id: batchId, from_line: from, to_line: from + CHUNK_LINES },
        now,
        {
          uniqueKey: `batch-chunk:${batchId}:${from}`,
          // One chunk of a file at a time: every line is the same seller, and two chunks at once only
          // queue on that seller's rows (on PostgreSQL, each waiting for the other's whole slice).
          ordering: { key: `batch:${batchId}`, seq: from },
        },
      );
    await enqueueJob(trx, BATCH_PROGRESS, { batch_id: batchId }, now + progressEveryMs, {
      uniqueKey: `batch-progress:${batchId}`,
    });
  }

  /**
   * Takes a file: streams it through the parser, staging each line (sealed) a thousand at a time,
   * and when the whole file was read (and its digest is the one signed) starts its processing. A
   * refused file leaves nothing: its staged lines are deleted with the batch.
   */
  async function upload(
    channel: ChannelView,
    meta: UploadMeta,
    body: AsyncIterable<Buffer>,
  ): Promise<Result<{ batch: BatchView; created: boolean }, BatchError>> {
    const bad = checkMeta(meta);
    if (bad) {
      await drain(body, Number.POSITIVE_INFINITY);
      return bad;
    }
    if (meta.cardType !== undefined) {
      const type = await deps.cardTypes.find(meta.cardType);
      if (type?.enabled !== 1) {
        await drain(body, Number.POSITIVE_INFINITY);
        return fail(
          'unsupported_card_type',
          `Card type ${meta.cardType} is not accepted; see GET /v1/card-types.`,
          {
            field: 'card_type',
          },
        );
      }
    }
    const earlier = await byMerchantBatchId(db, channel.id, meta.merchantBatchId);
    if (earlier) {
      return repeatOf(earlier, await repeatDigest(meta, body));
    }
    const now = clock.now();
    const id = newId('bat', now);
    const row: BatchRow = {
      id,
      channel_id: channel.id,
      merchant_batch_id: meta.merchantBatchId,
      source: meta.source,
      file_name: meta.fileName,
      file_sha256: meta.declaredSha256 ?? '',
      file_bytes: 0,
      format: meta.format,
      encoding: meta.encoding ?? null,
      card_type: meta.cardType ?? null,
      declared_face_value: meta.declaredFaceValue ?? null,
      seller_id: meta.sellerId,
      status: 'receiving',
      line_count: 0,
      report_sha256: null,
      report_csv: null,
      created_at: now,
      updated_at: now,
      completed_at: null,
    };
    try {
      await committer.run((trx) => insertBatch(trx, row));
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const raced = await byMerchantBatchId(db, channel.id, meta.merchantBatchId);
      if (raced) return repeatOf(raced, await repeatDigest(meta, body));
      throw err;
    }
    const tap = tapUpload(body, deps.maxBytes);
    const stager = new LineStager(id, meta, () => deps.cardKeys.current());
    let staged: NewLine[] = [];
    let lastLine = 0;
    try {
      const parsed = parseBatchFile(tap.stream, {
        format: meta.format,
        maxLines: deps.maxLines,
        ...(meta.encoding ? { encoding: meta.encoding } : {}),
      });
      for await (const item of parsed) {
        staged.push(stager.stage(item));
        lastLine = item.line;
        if (staged.length >= STAGE_LINES) {
          const rows = staged;
          staged = [];
          await committer.run((trx) => insertLines(trx, rows));
        }
      }
      const rows = staged;
      await committer.run((trx) => insertLines(trx, rows));
      const { sha256, bytes } = tap.digest();
      if (meta.declaredSha256 && meta.declaredSha256 !== sha256)
        throw new UploadRefused(
          'content_digest_mismatch',
          'The SHA-256 of the file received is not the X-Recard-Content-SHA256 that was signed.',
          400,
          'X-Recard-Content-SHA256',
        );
      const at = clock.now();
      const encoding = batchFileEncoding(parsed);
      await committer.run(async (trx) => {
        await trx
          .updateTable('batches')
          .set({ file_sha256: sha256, file_bytes: bytes, encoding: encoding ?? row.encoding })
          .where('id', '=', id)
          .execute();
        if (!(await startProcessing(trx, id, stager.count, at)))
          throw new Error(`batch ${id} left receiving`);
        await enqueueProcessing(trx, id, lastLine, at);
      });
      deps.onJobQueued?.([BATCH_CHUNK.kind]);
      const made = await batchById(db, id);
      if (!made) throw new Error(`batch ${id} vanished`);
      return ok({ batch: await view(db, made), created: true });
    } catch (err) {
      await committer.run((trx) => deleteBatch(trx, id));
      if (err instanceof BatchFileError || err instanceof UploadRefused)
        return fail(err.code as BatchError, err.message, err.field ? { field: err.field } : {});
      throw err;
    }
  }

  /** One chunk of a batch's lines becomes orders (or refusals); a run again finds its own orders. */
  async function runChunk(payload: { batch_id: string; from_line: number; to_line: number }) {
    const batch = await batchById(db, payload.batch_id);
    if (!batch || batch.status === 'receiving' || batch.status === 'cancelled') return;
    const lines = await pendingLines(db, batch.id, payload.from_line, payload.to_line);
    if (lines.length === 0) return;
    const channel = await deps.channel(batch.channel_id);
    const updates: LineOutcomeUpdate[] = [];
    for (let i = 0; i < lines.length; i += SUBMIT_AT_ONCE) {
      const slice = lines.slice(i, i + SUBMIT_AT_ONCE);
      updates.push(...(await submitLines(batch, channel, slice)));
      // A cancel while the chunk runs stops it between slices.
      const now = await batchById(db, batch.id);
      if (now?.status === 'cancelled') break;
    }
    const now = clock.now();
    await committer.run(async (trx) => {
      await settleLines(trx, deps.dialect, batch.id, updates);
      await touchBatch(trx, batch.id, now);
      // Cancelled while this chunk ran: what it just ordered is cancelled too, before verification.
      if ((await batchById(trx, batch.id))?.status === 'cancelled')
        for (const u of updates) if (u.orderId) await rejectUnverified(trx, u.orderId, now);
    });
  }

  const rejectUnverified = (trx: Transaction<Database>, orderId: string, nowMs: number) =>
    deps.orders.change(trx, orderId, {
      event: 'reject',
      from: 'submitted',
      facts: { reason: CANCELLED_REASON },
      nowMs,
    });

  type PendingLine = Awaited<ReturnType<typeof pendingLines>>[number];

  /** A staged line as the body of an order (the same checks as POST /v1/orders's), or its refusal. */
  function lineInput(
    batch: BatchRow,
    channel: ChannelView | undefined,
    line: PendingLine,
  ): { input: SubmitOrder } | { refusal: LineOutcomeUpdate } {
    const refused = (code: string, message: string, field: string | null = null) => ({
      refusal: lineRefusal(line.line, code, message, field),
    });
    if (channel?.status !== 'active')
      return refused('channel_disabled', 'The channel was disabled before this line was taken.');
    if (!line.sealed_card) return refused('card_unreadable', 'The staged card is gone.');
    const card = JSON.parse(
      open(deps.cardKeys.current(), line.sealed_card, lineContext(batch.id, line.line)),
    ) as {
      number: string;
      secret: string;
    };
    const input = {
      merchant_order_id: line.merchant_order_id as string,
      card_type: line.card_type as string,
      card_number: card.number,
      card_secret: card.secret,
      declared_face_value: Number(line.declared_face_value),
      seller: { id: batch.seller_id },
    };
    // The same checks as POST /v1/orders's body (lengths, ranges) before the same intake.
    const error = Value.Errors(SubmitOrder, input).First();
    if (error) {
      const field = error.path.replace(/^\//, '').replace(/\//g, '.') || null;
      return refused('invalid_request', `${field ?? 'The line'}: ${error.message}.`, field);
    }
    return { input };
  }

  /** A slice of lines through orders' intake together; each line's outcome in line order. */
  async function submitLines(
    batch: BatchRow,
    channel: ChannelView | undefined,
    lines: PendingLine[],
  ): Promise<LineOutcomeUpdate[]> {
    const out: (LineOutcomeUpdate | undefined)[] = [];
    const taken: { at: number; line: number; input: SubmitOrder }[] = [];
    for (const line of lines) {
      const made = lineInput(batch, channel, line);
      if ('refusal' in made) out.push(made.refusal);
      else {
        taken.push({ at: out.length, line: line.line, input: made.input });
        out.push(undefined);
      }
    }
    if (taken.length > 0 && channel) {
      const results = await deps.orders.submitMany(
        channel,
        taken.map((t) => t.input),
        { batchId: batch.id },
      );
      for (const [i, t] of taken.entries()) {
        const result = results[i];
        if (!result) throw new Error(`no answer for line ${t.line}`);
        out[t.at] = !result.ok
          ? lineRefusal(t.line, result.code, result.message, result.field ?? null)
          : // A repeat of an order of another batch or of a single order holds the card elsewhere.
            !result.value.created && result.value.batchId !== batch.id
            ? lineRefusal(
                t.line,
                'card_already_submitted',
                `This line repeats order ${result.value.order.id}, submitted before this batch.`,
                'merchant_order_id',
              )
            : { line: t.line, status: 'ordered', orderId: result.value.order.id };
      }
    }
    return out.map((u, i) => {
      if (!u) throw new Error(`no outcome for line ${lines[i]?.line}`);
      return u;
    });
  }

  /**
   * The report's rows, in line order, a page of lines at a time: each line joined with its order as
   * it is now. A page is all that is held (a 100,000-line report held every row and order at once).
   */
  async function* reportPages(from: Db, batch: BatchRow): AsyncGenerator<ReportRow[]> {
    for (let after = 0; ; ) {
      const page = await linesPage(from, batch.id, after, REPORT_PAGE);
      const ids = page.flatMap((l) => (l.order_id ? [l.order_id] : []));
      const orders = new Map((await deps.orders.batchOrders(from, batch.id, ids)).map((o) => [o.id, o]));
      yield page.map((l): ReportRow => {
        const o = l.order_id ? orders.get(l.order_id) : undefined;
        return {
          line: l.line,
          card_type: l.card_type ?? '',
          card_number_masked: l.card_masked ?? '',
          merchant_order_id: l.merchant_order_id ?? '',
          declared_face_value: l.declared_face_value === null ? null : Number(l.declared_face_value),
          ...(o
            ? {
                order_id: o.id,
                status: outcomeOf(o.status, o.reason),
                reason: o.reason ?? '',
                actual_face_value: o.actual_face_value,
                price: o.price?.seller_amount ?? null,
                payout: o.price?.payout_amount ?? null,
                payout_currency: o.price?.payout_currency ?? '',
              }
            : {
                order_id: '',
                status: l.status === 'ordered' ? 'verifying' : (l.status as LineOutcome),
                reason: l.code ?? '',
                actual_face_value: null,
                price: null,
                payout: null,
                payout_currency: '',
              }),
        };
      });
      if (page.length < REPORT_PAGE) break;
      after = page.at(-1)?.line ?? after;
    }
  }

  /** Counts, `batch.progress` when they moved, and `batch.completed` with the report once all lines are done. */
  async function watch(payload: { batch_id: string }, lastSeen: Map<string, string>) {
    const batch = await batchById(db, payload.batch_id);
    if (!batch || batch.status === 'receiving' || batch.completed_at !== null) return;
    const v = await view(db, batch);
    const done = v.counts.pending === 0 && v.counts.verifying === 0;
    const signature = JSON.stringify(v.counts);
    if (!done) {
      if (lastSeen.get(batch.id) !== signature) {
        lastSeen.set(batch.id, signature);
        await committer.run((trx) =>
          deps.events
            .append(trx, {
              spec: BATCH_PROGRESS_EVENT,
              channelId: batch.channel_id,
              subjectId: batch.id,
              data: { batch: v },
              nowMs: clock.now(),
            })
            .then(() => undefined),
        );
      }
      throw new DeferJob(progressEveryMs, 'lines still pending or verifying');
    }
    lastSeen.delete(batch.id);
    const csv = await reportCsv(reportPages(db, batch));
    const sha = sha256Hex(csv);
    const now = clock.now();
    await committer.run(async (trx) => {
      const extra = { completed_at: now, report_csv: csv, report_sha256: sha };
      const moved =
        batch.status === 'processing'
          ? await setStatus(trx, batch.id, 'processing', 'completed', now, extra)
          : await setStatus(trx, batch.id, batch.status, batch.status, now, extra);
      if (!moved) return;
      const after = await batchById(trx, batch.id);
      if (!after) return;
      await deps.events.append(trx, {
        spec: BATCH_COMPLETED_EVENT,
        channelId: batch.channel_id,
        subjectId: batch.id,
        data: { batch: await view(trx, after) },
        nowMs: now,
      });
    });
  }

  const lastSeen = new Map<string, string>();

  // The counts of a big batch are read from indexes, yet take milliseconds of SQLite each (8 ms for
  // 100,000 lines) that block the process: a poller gets the view of the last second, unless the
  // batch itself changed (status, cancel, completion) since.
  const recentViews = new Map<string, { at: number; stamp: string; view: BatchView }>();
  async function recentView(row: BatchRow): Promise<BatchView> {
    const now = Date.now();
    // Each chunk touches updated_at: only a change of the batch's own state shows at once.
    const stamp = `${row.status} ${row.completed_at}`;
    const seen = recentViews.get(row.id);
    if (seen && seen.stamp === stamp && now - seen.at < VIEW_FRESH_MS) return seen.view;
    const v = await view(db, row);
    if (recentViews.size >= 1000)
      for (const [id, e] of recentViews) if (now - e.at >= VIEW_FRESH_MS) recentViews.delete(id);
    recentViews.set(row.id, { at: now, stamp, view: v });
    return v;
  }

  return {
    upload,

    /** A batch as it is now, or as it was at most a second ago (its counts; docs/batches.md). */
    async get(channel: ChannelView, id: string): Promise<Result<BatchView, 'resource_not_found'>> {
      const row = await channelBatch(db, channel.id, id);
      if (!row || row.status === 'receiving')
        return fail('resource_not_found', `No batch ${id}.`, { field: 'id' });
      return ok(await recentView(row));
    },

    /**
     * Cancels what is not yet verified: lines not yet ordered, and orders still waiting for their
     * first verification (rejected with `batch_cancelled`; one a worker took already goes on).
     */
    async cancel(
      channel: ChannelView,
      id: string,
    ): Promise<Result<BatchView, 'resource_not_found' | 'batch_not_cancellable'>> {
      const row = await channelBatch(db, channel.id, id);
      if (!row || row.status === 'receiving')
        return fail('resource_not_found', `No batch ${id}.`, { field: 'id' });
      if (row.status !== 'processing')
        return fail('batch_not_cancellable', `Batch ${id} is ${row.status}: nothing is left to cancel.`, {
          field: 'id',
        });
      const now = clock.now();
      await committer.run(async (trx) => {
        if (await setStatus(trx, id, 'processing', 'cancelled', now)) await cancelPending(trx, id);
      });
      const ordered = await orderedLineIds(db, id);
      for (let i = 0; i < ordered.length; i += 500) {
        const slice = ordered.slice(i, i + 500);
        await committer.run(async (trx) => {
          for (const l of slice) if (l.order_id) await rejectUnverified(trx, l.order_id, now);
        });
      }
      const after = await batchById(db, id);
      return ok(await view(db, after ?? row));
    },

    /** The per-line report, as it is now, in CSV or XLSX, with the SHA-256 of the bytes sent. */
    async report(
      channel: ChannelView,
      id: string,
      format: 'csv' | 'xlsx',
    ): Promise<Result<{ body: Buffer; sha256: string; fileName: string }, 'resource_not_found'>> {
      const row = await channelBatch(db, channel.id, id);
      if (!row || row.status === 'receiving')
        return fail('resource_not_found', `No batch ${id}.`, { field: 'id' });
      const pages = reportPages(db, row);
      const body = format === 'csv' ? Buffer.from(await reportCsv(pages), 'utf8') : await reportXlsx(pages);
      return ok({ body, sha256: sha256Hex(body), fileName: `${row.id}.report.${format}` });
    },

    /** A channel's batches (the file drop's in/ and out/). */
    rowsOf: (channelId: string, limit: number) => channelBatches(db, channelId, limit),

    handlers(): JobHandler<never>[] {
      const chunk: JobHandler<{ batch_id: string; from_line: number; to_line: number }> = {
        spec: BATCH_CHUNK,
        handle: (payload) => runChunk(payload),
      };
      const progress: JobHandler<{ batch_id: string }> = {
        spec: BATCH_PROGRESS,
        handle: (payload) => watch(payload, lastSeen),
      };
      const prune: JobHandler<{ older_than_ms: number }> = {
        spec: PRUNE_UPLOADS,
        async handle(payload) {
          for (const { id } of await staleUploads(db, clock.now() - payload.older_than_ms))
            await committer.run((trx) => deleteBatch(trx, id));
        },
      };
      return [chunk, progress, prune] as JobHandler<never>[];
    },
  };
}

export type BatchService = ReturnType<typeof createBatchService>;
