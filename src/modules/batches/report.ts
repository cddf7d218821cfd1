import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import ExcelJS from 'exceljs';
import { safeCell } from '../../shared/csv-cell.js';
import type { LineOutcome } from './model.js';

/** One row of the per-line report: masked number only, never a secret. */
export interface ReportRow {
  line: number;
  card_type: string;
  card_number_masked: string;
  merchant_order_id: string;
  order_id: string;
  status: LineOutcome;
  reason: string;
  declared_face_value: number | null;
  actual_face_value: number | null;
  /** What the card is bought for (card currency) and what the seller is paid (payout currency). */
  price: number | null;
  payout: number | null;
  payout_currency: string;
}

export const REPORT_COLUMNS: readonly (keyof ReportRow)[] = [
  'line',
  'card_type',
  'card_number_masked',
  'merchant_order_id',
  'order_id',
  'status',
  'reason',
  'declared_face_value',
  'actual_face_value',
  'price',
  'payout',
  'payout_currency',
];

const cell = (v: string | number | null) =>
  v === null ? '' : typeof v === 'number' ? String(v) : safeCell(v);

/** Rows a page at a time (the batch's lines are read so), at least one page, the first with the header. */
export type ReportPages = AsyncIterable<readonly ReportRow[]>;

/** The report as CSV (UTF-8 with a BOM, so that spreadsheet software opens Chinese text right). */
export async function reportCsv(pages: ReportPages): Promise<string> {
  const parts = ['\uFEFF'];
  let header = true;
  for await (const rows of pages) {
    parts.push(
      stringify(
        rows.map((r) => REPORT_COLUMNS.map((c) => cell(r[c]))),
        { header, columns: [...REPORT_COLUMNS], record_delimiter: 'windows' },
      ),
    );
    header = false;
  }
  return parts.join('');
}

/** The report as an XLSX workbook (one sheet), written as a stream into one buffer. */
export async function reportXlsx(pages: ReportPages): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    out.on('end', resolve);
    out.on('error', reject);
  });
  const book = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: out,
    useSharedStrings: false,
    useStyles: false,
  });
  const sheet = book.addWorksheet('report');
  sheet.columns = REPORT_COLUMNS.map((c) => ({ header: c, key: c }));
  for await (const rows of pages)
    for (const r of rows)
      sheet.addRow(REPORT_COLUMNS.map((c) => (typeof r[c] === 'string' ? safeCell(r[c]) : r[c]))).commit();
  sheet.commit();
  await book.commit();
  await done;
  return Buffer.concat(chunks);
}

export const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
