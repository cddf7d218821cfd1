import { lineProblem } from './columns.js';
import { csvLines } from './csv.js';
import { decodeText, type TextEncoding } from './encoding.js';
import { BatchFileError } from './file-error.js';
import { normalizeNewlines, splitLines, type TextLine } from './lines.js';
import { xlsxLines } from './xlsx.js';

export type { TextEncoding } from './encoding.js';
export { BatchFileError, type BatchFileErrorCode } from './file-error.js';

/**
 * Batch card files as a channel uploads them, read as a stream: lines are yielded as they are read,
 * and neither the file nor its lines are held whole (a text/CSV line, an XLSX row at a time).
 *
 * - text: one card per line, `number secret`. Fields are separated by a run of spaces and tabs, or by
 *   one comma with any spaces or tabs around it (`TEXT_SEPARATOR`): `1234 abcd`, `1234\tabcd`,
 *   `1234,abcd`, `1234 , abcd`. Two commas in a row make an empty field, hence a problem.
 * - csv: a header row, then one card per row (see `csvLines` and `readHeader`).
 * - xlsx: the first worksheet, the same columns as CSV (see `xlsxLines`).
 *
 * Text and CSV: encoding as described at `TextEncoding` (UTF-16 is refused). Line breaks: LF, CRLF
 * or a lone CR. Lines that are blank (or, in CSV/XLSX, rows whose cells are all empty) are skipped
 * and not counted.
 */
export const BATCH_FORMATS = ['csv', 'text', 'xlsx'] as const;
export type BatchFormat = (typeof BATCH_FORMATS)[number];

export interface ParseOptions {
  format: BatchFormat;
  /** Most card lines accepted (blank lines not counted); one more throws BatchFileError too_many_lines (413). */
  maxLines: number;
  /** Given by the uploader for text/CSV; detected when absent. Ignored for xlsx. A BOM overrides it. */
  encoding?: TextEncoding;
}

/** One card line as found in the file: strings as written (trimmed), nothing validated beyond the shape. */
export interface ParsedLine {
  kind: 'line';
  /** 1-based line number in the file as a person sees it (CSV: the header is line 1; XLSX: the row number). */
  line: number;
  cardNumber: string;
  cardSecret: string;
  /** CSV/XLSX columns; absent for text (the file's card type and face value are given once for the file). */
  cardType?: string;
  declaredFaceValue?: string;
  /** Absent when the column is, or the cell is empty. */
  merchantOrderId?: string;
}

/** A line whose shape is wrong (e.g. text line with 1 or 3+ fields, CSV row with the wrong number of cells): refused alone. */
export interface LineProblem {
  kind: 'problem';
  line: number;
  code: 'line_malformed';
  /** For people; never holds the line's secret (nor its card number). */
  message: string;
}

/** Fields of a text line: a run of spaces/tabs, or a comma with optional spaces/tabs around it. */
export const TEXT_SEPARATOR = /[ \t]*,[ \t]*|[ \t]+/;

/** Longest text line read (characters); a longer one is a problem, and is not held while read. */
export const MAX_TEXT_LINE_CHARS = 1024;

interface EncodingState {
  encoding: TextEncoding | undefined;
}

const encodings = new WeakMap<object, EncodingState>();

/**
 * Yields every card line or line problem in file order; throws BatchFileError for a file that cannot
 * be taken at all: a bad header or encoding, an unreadable XLSX, more than `maxLines` lines (thrown on
 * reading line maxLines + 1, the rest is not read), or no line at all (`empty_file`). An error of the
 * upload itself is thrown as it is. Stopping early (return, or a throw) releases the input.
 */
export function parseBatchFile(
  input: AsyncIterable<Buffer>,
  options: ParseOptions,
): AsyncGenerator<ParsedLine | LineProblem> {
  if (!BATCH_FORMATS.includes(options.format)) throw new RangeError(`Unknown batch format ${options.format}`);
  if (!Number.isSafeInteger(options.maxLines) || options.maxLines < 0) {
    throw new RangeError(`maxLines must be a whole number, got ${options.maxLines}`);
  }
  const state: EncodingState = { encoding: undefined };
  const parser = limited(linesOf(input, options, state), options.maxLines);
  encodings.set(parser, state);
  return parser;
}

/**
 * The encoding a text or CSV parser (from `parseBatchFile`) decodes its file with, once known: from
 * the start when a BOM or the uploader gave it, else from the first non-ASCII bytes, else (an ASCII
 * file) 'utf-8' at the end. Undefined before that, and always for XLSX.
 */
export function batchFileEncoding(
  parser: AsyncGenerator<ParsedLine | LineProblem>,
): TextEncoding | undefined {
  return encodings.get(parser)?.encoding;
}

function linesOf(
  input: AsyncIterable<Buffer>,
  options: ParseOptions,
  state: EncodingState,
): AsyncGenerator<ParsedLine | LineProblem> {
  if (options.format === 'xlsx') return xlsxLines(input);
  const text = normalizeNewlines(
    decodeText(input, options.encoding, (encoding) => {
      state.encoding = encoding;
    }),
  );
  return options.format === 'csv' ? csvLines(text) : textLines(splitLines(text, MAX_TEXT_LINE_CHARS));
}

/** Counts lines and problems alike: the limit is on what the file holds, not on what is valid. */
async function* limited(
  lines: AsyncGenerator<ParsedLine | LineProblem>,
  maxLines: number,
): AsyncGenerator<ParsedLine | LineProblem> {
  let count = 0;
  for await (const line of lines) {
    count++;
    if (count > maxLines) {
      throw new BatchFileError('too_many_lines', `The file has more than ${maxLines} card lines.`, 413);
    }
    yield line;
  }
  if (count === 0) throw new BatchFileError('empty_file', 'The file has no card lines.', 400);
}

async function* textLines(lines: AsyncIterable<TextLine>): AsyncGenerator<ParsedLine | LineProblem> {
  for await (const { line, text } of lines) {
    if (text === null) {
      yield lineProblem(line, `Line ${line} is longer than ${MAX_TEXT_LINE_CHARS} characters.`);
      continue;
    }
    const trimmed = text.trim();
    if (trimmed === '') continue;
    const fields = trimmed.split(TEXT_SEPARATOR);
    const [cardNumber, cardSecret] = fields;
    if (fields.length !== 2 || cardNumber === undefined || cardSecret === undefined) {
      const count = fields.length === 1 ? '1 field' : `${fields.length} fields`;
      yield lineProblem(
        line,
        `Line ${line} has ${count}; a card line is a card number and a secret separated by spaces, a tab or a comma.`,
      );
      continue;
    }
    yield { kind: 'line', line, cardNumber, cardSecret };
  }
}
