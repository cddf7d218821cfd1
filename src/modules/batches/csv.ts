import { pipeline, Readable } from 'node:stream';
import { type CsvError, parse } from 'csv-parse';
import { type Header, lineProblem, readHeader, rowToLine } from './columns.js';
import type { LineProblem, ParsedLine } from './parse.js';

/** Longest CSV row read (characters): bounds what an unclosed quote makes csv-parse hold. */
export const MAX_CSV_ROW_CHARS = 8192;

interface CsvRecord {
  record: string[];
  info: { lines: number; records: number };
}

/**
 * The card lines of CSV text (LF line breaks: see `normalizeNewlines`): RFC 4180 quoting (csv-parse,
 * with a stray quote inside an unquoted cell kept as text), a header row first (`readHeader`), then
 * one card per row. Rows whose cells are all empty are skipped, as blank lines are. A row with more or
 * fewer cells than the header is a problem. A line's number is that of the row's first line (a quoted
 * cell may span several).
 *
 * Broken quoting (a quote never closed, text after a closing quote, a row over `MAX_CSV_ROW_CHARS`)
 * leaves csv-parse unable to tell where the next row starts: it becomes a problem at that row, and
 * the rows after it are not taken.
 */
export async function* csvLines(text: AsyncIterable<string>): AsyncGenerator<ParsedLine | LineProblem> {
  let broken: CsvError | undefined;
  const parser = parse({
    info: true,
    record_delimiter: '\n',
    relax_column_count: true,
    relax_quotes: true,
    trim: true,
    max_record_size: MAX_CSV_ROW_CHARS,
    // Skipped rather than thrown: a thrown error destroys the stream, and with it the rows before it
    // that csv-parse had parsed but this loop had not read yet.
    skip_records_with_error: true,
    on_skip: (error) => {
      broken ??= error;
    },
  });
  const source = Readable.from(text);
  // Errors of the text (encoding) reach the loop below through the parser; the callback is only there
  // because pipeline wants one.
  pipeline(source, parser, () => {});
  /** The line the last row read ended on: each line belongs to a row, blank ones too. */
  let lastLine = 0;
  let header: Header | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<CsvRecord>) {
      if (broken !== undefined && info.records > rowsBefore(broken)) break;
      const line = lastLine + 1;
      lastLine = info.lines;
      const cells = record.map((cell) => cell.trim());
      if (cells.every((cell) => cell === '')) continue;
      if (header === undefined) header = readHeader(cells);
      else yield rowLine(header, cells, line);
    }
  } finally {
    // Stops reading: the text's generators are closed, and with them the upload.
    source.destroy();
    parser.destroy();
  }
  // Its message may quote the cell, a secret perhaps: only the code is used.
  if (broken !== undefined) yield lineProblem(lastLine + 1, brokenCsvMessage(broken, lastLine + 1));
}

/** Rows csv-parse had emitted when it met the error (its context carries the counters). */
function rowsBefore(error: CsvError): number {
  return typeof error.records === 'number' ? error.records : 0;
}

function rowLine(header: Header, cells: string[], line: number): ParsedLine | LineProblem {
  if (cells.length !== header.width) {
    return lineProblem(line, `Line ${line} has ${cells.length} cells; the header has ${header.width}.`);
  }
  return rowToLine(header, cells, line, (i) => `column ${i + 1}`);
}

function brokenCsvMessage(error: CsvError, line: number): string {
  const rest = 'it and the rest of the file were not taken';
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return `The row at line ${line} has a quoted cell that is never closed; ${rest}.`;
    case 'CSV_MAX_RECORD_SIZE':
      return `The row at line ${line} is longer than ${MAX_CSV_ROW_CHARS} characters (an unclosed quote?); ${rest}.`;
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return `Line ${line} has text after the closing quote of a cell (a quote inside a quoted cell is written ""); ${rest}.`;
    default:
      return `Line ${line} is not valid CSV; ${rest}.`;
  }
}
