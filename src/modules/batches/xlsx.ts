import type { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import ExcelJS, { type Row } from 'exceljs';
import { type Header, readHeader, rowToLine } from './columns.js';
import { BatchFileError } from './file-error.js';
import type { LineProblem, ParsedLine } from './parse.js';

type Item = ParsedLine | LineProblem;
type Step = <T>(pending: Promise<T>) => Promise<T>;

const READER_OPTIONS = {
  worksheets: 'emit',
  sharedStrings: 'cache',
  // Number formats: a date cell, and zeros a number is padded with (see `numberText`).
  styles: 'cache',
  hyperlinks: 'ignore',
  entries: 'ignore',
} as const;

/**
 * The card lines of an XLSX file's first worksheet (in the workbook's order), streamed with exceljs:
 * the first row that is not empty is the header (`readHeader`), each later non-empty row a card line
 * numbered as the spreadsheet numbers it. Cells missing from a row read as empty; a value beyond the
 * header's columns or under an unnamed one makes the row a problem. Cell values become text as
 * `cellText` says. The other worksheets are read through and dropped (see below).
 *
 * Anything exceljs cannot read (not a zip, a zip without a worksheet, corrupt data or XML) is
 * `unreadable_xlsx`; an error of the upload itself is thrown as it is; an empty upload is `empty_file`.
 *
 * Temporary files: exceljs spools a worksheet that comes before the shared strings in the zip (Excel's
 * and exceljs's own order) to a temporary file, read once the zip has been read through, and removes
 * it only when asked for the next worksheet. So every sheet is read to the end, and when parsing stops
 * early (too many lines, a bad header, the caller stops) with the upload already read, the rest is
 * read in the background, after the stop. Left behind until the process exits (exceljs's `tmp`
 * clean-up): spooled files of a workbook exceljs failed on, or one stopped while the upload was still
 * being read (a sheet read straight from the zip, spooled ones before it).
 */
export async function* xlsxLines(input: AsyncIterable<Buffer>): AsyncGenerator<Item> {
  const wire = new Tripwire();
  const upload: Upload = { bytes: 0, done: false, error: undefined };
  const feed = Readable.from(uploadChunks(input, upload, (error) => wire.trip(error)));
  // unzipper reports some corrupt zips only as an 'error' event on itself, which exceljs does not hear
  // while it waits on an entry: it would then wait forever. Every wait on exceljs fails at it instead.
  onPipedError(feed, (error) => wire.trip(asUnreadable(error)));
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(feed, READER_OPTIONS);
  (reader as unknown as EventEmitter).on('error', (error) => wire.trip(asUnreadable(error)));
  /** exceljs failed (or the upload did): it may be stuck mid-way and is left alone. */
  let readerFailed = false;
  const step: Step = (pending) =>
    wire.wait(pending).catch((error: unknown) => {
      readerFailed = true;
      throw error;
    });
  const sheets = reader[Symbol.asyncIterator]();
  let rows: AsyncIterator<Row> | undefined;
  let taken = false;
  let finished = false;
  try {
    for (let sheet = await step(sheets.next()); !sheet.done; sheet = await step(sheets.next())) {
      rows = sheet.value[Symbol.asyncIterator]();
      if (taken || !isFirstSheet(reader, sheet.value)) {
        await drain(rows, step);
        continue;
      }
      taken = true;
      yield* sheetLines(rows, step);
    }
    finished = true;
  } catch (error) {
    throw failure(error, upload);
  } finally {
    if (!finished && !readerFailed && upload.done) {
      // Stopped early with exceljs at rest: it reads the rest (no more of the upload) and cleans up.
      void readToEnd(sheets, rows, step).finally(() => feed.destroy());
    } else {
      feed.destroy();
      // Not awaited: after a failure exceljs may never settle.
      sheets.return(undefined).catch(() => {});
    }
  }
  if (!taken) throw upload.bytes === 0 ? emptyUpload() : unreadable('The file has no worksheet to read.');
}

interface Upload {
  bytes: number;
  /** Every chunk was handed to exceljs. */
  done: boolean;
  error: unknown;
}

/** The rest of the sheet being read and of the workbook, dropped; failures are nobody's concern now. */
async function readToEnd(sheets: AsyncIterator<unknown>, rows: AsyncIterator<Row> | undefined, step: Step) {
  try {
    if (rows !== undefined) await drain(rows, step);
    for (let sheet = await step(sheets.next()); !sheet.done; sheet = await step(sheets.next())) {
      await drain((sheet.value as AsyncIterable<Row>)[Symbol.asyncIterator](), step);
    }
  } catch {
    // The file was refused or left already.
  }
}

/**
 * Fails the waits on exceljs at the first error (`trip`; later ones are dropped). Not a race with
 * one long-pending promise: every race would leave a reaction on it, holding its result (a row).
 */
class Tripwire {
  private tripped: { error: unknown } | undefined;
  private readonly waiting = new Set<(error: unknown) => void>();

  trip(error: unknown): void {
    if (this.tripped !== undefined) return;
    this.tripped = { error };
    for (const fail of this.waiting) fail(error);
    this.waiting.clear();
  }

  /** `pending`, unless the wire trips first; a later rejection of `pending` is then ignored. */
  wait<T>(pending: Promise<T>): Promise<T> {
    const tripped = this.tripped;
    if (tripped !== undefined) {
      pending.catch(() => {});
      return Promise.reject(tripped.error);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      pending.then(
        (value) => {
          this.waiting.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.waiting.delete(reject);
          reject(error);
        },
      );
    });
  }
}

/**
 * The upload's chunks for exceljs. Empty ones are dropped: unzipper never acknowledges an empty write,
 * and its stream then never finishes. An upload error ends the chunks (and trips the wire with it).
 */
async function* uploadChunks(
  input: AsyncIterable<Buffer>,
  upload: Upload,
  trip: (error: unknown) => void,
): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of input) {
      if (chunk.length === 0) continue;
      upload.bytes += chunk.length;
      yield chunk;
    }
    upload.done = true;
  } catch (error) {
    upload.error = error;
    trip(error);
  }
}

/** Calls `listener` on an error of any stream `source` is piped into (exceljs pipes it into unzipper). */
function onPipedError(source: Readable, listener: (error: unknown) => void): void {
  const pipe = source.pipe.bind(source);
  source.pipe = <T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T => {
    destination.on('error', listener);
    return pipe(destination, options);
  };
}

function isFirstSheet(reader: ExcelJS.stream.xlsx.WorkbookReader, sheet: unknown): boolean {
  const first = reader.model?.sheets?.[0];
  // Without the workbook part yet (it may come after the sheets in the zip), there is no sheet order
  // to go by: the first worksheet read is taken.
  return first === undefined || (sheet as { id?: unknown }).id === first.id;
}

async function drain(rows: AsyncIterator<Row>, step: Step): Promise<void> {
  let row = await step(rows.next());
  while (!row.done) row = await step(rows.next());
}

async function* sheetLines(rows: AsyncIterator<Row>, step: Step): AsyncGenerator<Item> {
  let header: Header | undefined;
  let lastNumber = 0;
  for (let row = await step(rows.next()); !row.done; row = await step(rows.next())) {
    // A row without its number (allowed, some writers leave it out) follows the one before.
    const number = Number.isSafeInteger(row.value.number) ? row.value.number : lastNumber + 1;
    lastNumber = number;
    const cells = rowCells(row.value);
    if (cells.every((cell) => cell === '')) continue;
    if (header === undefined) header = readHeader(cells);
    else yield rowToLine(header, cells, number, (i) => `column ${columnLetters(i)}`);
  }
}

/** The row's cells as trimmed text, by 0-based column; cells absent from the file are empty. */
function rowCells(row: Row): string[] {
  const cells: string[] = [];
  row.eachCell((cell, column) => {
    cells[column - 1] = cellText(cell.value, cell.numFmt).trim();
  });
  return Array.from(cells, (cell) => cell ?? '');
}

/** Excel keeps 15 significant digits; written out in full, never with an exponent. */
const EXCEL_DIGITS = new Intl.NumberFormat('en-US', { useGrouping: false, maximumSignificantDigits: 15 });

/**
 * A cell as text: strings as written (rich text joined), numbers by `numberText`, booleans TRUE or
 * FALSE, dates as ISO 8601, an error as its code (#N/A), a formula or a hyperlink by its value.
 */
export function cellText(value: unknown, numFmt?: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return numberText(value, numFmt);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
  if (typeof value === 'object') {
    if ('richText' in value && Array.isArray(value.richText)) {
      return value.richText
        .map((run: { text?: unknown }) => (typeof run?.text === 'string' ? run.text : ''))
        .join('');
    }
    if ('formula' in value || 'sharedFormula' in value) {
      return 'result' in value ? cellText(value.result, numFmt) : '';
    }
    if ('text' in value) return cellText(value.text, numFmt);
    if ('error' in value) return cellText(value.error);
  }
  // e.g. a shared string the workbook does not have
  throw unreadable('A cell of the workbook cannot be read.');
}

/**
 * A number cell as text. A card number typed into Excel as a number has lost its leading zeros; a
 * number format of zeros only ("0000000000000000", Excel's way to show them) pads it back to that
 * width. Otherwise: an integer up to 2^53 in full, anything else to Excel's 15 significant digits
 * (more digits than Excel keeps are noise), never with an exponent (1E+18 → 1000000000000000000).
 */
export function numberText(n: number, numFmt?: string): string {
  if (!Number.isFinite(n)) throw unreadable('A number cell of the workbook holds no number.');
  const text = Number.isSafeInteger(n) ? String(n) : EXCEL_DIGITS.format(n);
  const width = numFmt !== undefined && /^0+$/.test(numFmt) ? numFmt.length : 0;
  return width > 0 && Number.isInteger(n) && n >= 0 ? text.padStart(width, '0') : text;
}

/** Spreadsheet column letters of a 0-based column: 0 → A, 25 → Z, 26 → AA. */
export function columnLetters(index: number): string {
  let letters = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  }
  return letters;
}

function unreadable(message = 'The file is not a readable XLSX workbook.'): BatchFileError {
  return new BatchFileError('unreadable_xlsx', message, 400);
}

/** A failure of exceljs as a file error; its message is not quoted (it may hold cell text). */
function asUnreadable(error: unknown): BatchFileError {
  return error instanceof BatchFileError ? error : unreadable();
}

function emptyUpload(): BatchFileError {
  return new BatchFileError('empty_file', 'The file is empty.', 400);
}

/** What a failure while reading becomes: the upload's own error as it is, else a file error. */
function failure(error: unknown, upload: Upload): unknown {
  if (upload.error !== undefined) return upload.error;
  if (error instanceof BatchFileError && error.code !== 'unreadable_xlsx') return error;
  return upload.bytes === 0 ? emptyUpload() : asUnreadable(error);
}
