import ExcelJS, { type Row } from 'exceljs';
import { type Header, readHeader, rowToLine } from './columns.js';
import { BatchFileError } from './file-error.js';
import type { LineProblem, ParsedLine } from './parse.js';

type Item = ParsedLine | LineProblem;

/**
 * The card lines of an XLSX file's first worksheet (in the workbook's order): the first row that is
 * not empty is the header (`readHeader`), each later non-empty row a card line numbered as the
 * spreadsheet numbers it. Cells missing from a row read as empty; a value beyond the header's columns
 * or under an unnamed one makes the row a problem. Cell values become text as `cellText` says.
 *
 * Read in memory, not streamed: exceljs's streaming reader spools a worksheet that comes before the
 * shared strings in the zip (Excel's own order) to a temporary file, which would put card secrets on
 * disk in clear, and leaves it behind when the workbook is corrupt. The upload is bounded by
 * RECARD_BATCH_MAX_BYTES, so holding it (and the workbook) in memory is bounded too.
 *
 * Anything exceljs cannot read (not a zip, a zip without a worksheet, corrupt data or XML) is
 * `unreadable_xlsx`; an error of the upload itself is thrown as it is; an empty upload is `empty_file`.
 */
export async function* xlsxLines(input: AsyncIterable<Buffer>): AsyncGenerator<Item> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) if (chunk.length > 0) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  chunks.length = 0;
  if (bytes.length === 0) throw emptyUpload();
  const book = new ExcelJS.Workbook();
  try {
    await book.xlsx.load(bytes as unknown as ArrayBuffer);
  } catch {
    throw unreadable();
  }
  const sheet = book.worksheets[0];
  if (!sheet) throw unreadable('The file has no worksheet to read.');
  const rows: Row[] = [];
  sheet.eachRow({ includeEmpty: false }, (row) => {
    rows.push(row);
  });
  yield* sheetLines(rows);
}

function* sheetLines(rows: readonly Row[]): Generator<Item> {
  let header: Header | undefined;
  for (const row of rows) {
    const cells = rowCells(row);
    if (cells.every((cell) => cell === '')) continue;
    if (header === undefined) header = readHeader(cells);
    else yield rowToLine(header, cells, row.number, (i) => `column ${columnLetters(i)}`);
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

function emptyUpload(): BatchFileError {
  return new BatchFileError('empty_file', 'The file is empty.', 400);
}
