import { BatchFileError } from './file-error.js';
import type { LineProblem, ParsedLine } from './parse.js';

/** The columns of a CSV or XLSX batch file, as named in its header row (any case, trimmed). */
export const BATCH_COLUMNS = [
  'card_type',
  'card_number',
  'card_secret',
  'declared_face_value',
  'merchant_order_id',
] as const;
export type BatchColumn = (typeof BATCH_COLUMNS)[number];

const REQUIRED: readonly BatchColumn[] = ['card_type', 'card_number', 'card_secret', 'declared_face_value'];

/** Longest column name quoted back in an error. */
const SHOWN_NAME_CHARS = 64;

export interface Header {
  /** Where each named column is (0-based). */
  positions: ReadonlyMap<BatchColumn, number>;
  /** The positions of named columns, to find values under unnamed ones. */
  named: ReadonlySet<number>;
  /** Cells in the header row, unnamed (empty) ones included. */
  width: number;
}

function isColumn(name: string): name is BatchColumn {
  return (BATCH_COLUMNS as readonly string[]).includes(name);
}

const COLUMN_LIST = `${REQUIRED.join(', ')} and optionally merchant_order_id`;

/**
 * Reads the header row. Empty cells are unnamed columns, allowed (spreadsheets leave them) as long as
 * the rows leave them empty too. A first row that names no known column at all is taken for a card
 * line, not a header: it is refused as a missing header without quoting any of its cells.
 */
export function readHeader(cells: readonly string[]): Header {
  const names = cells.map((cell) => cell.trim().toLowerCase());
  if (!names.some(isColumn)) {
    throw new BatchFileError(
      'missing_column',
      `The first row must be a header naming the columns: ${COLUMN_LIST}.`,
      400,
      REQUIRED[0],
    );
  }
  const positions = new Map<BatchColumn, number>();
  names.forEach((name, i) => {
    if (name === '') return;
    if (!isColumn(name)) {
      const shown = (cells[i] ?? '').trim().slice(0, SHOWN_NAME_CHARS);
      throw new BatchFileError(
        'unknown_column',
        `Unknown column "${shown}"; the columns are ${COLUMN_LIST}.`,
        400,
        shown,
      );
    }
    if (positions.has(name)) {
      throw new BatchFileError(
        'duplicate_column',
        `The column ${name} appears twice in the header.`,
        400,
        name,
      );
    }
    positions.set(name, i);
  });
  const missing = REQUIRED.find((column) => !positions.has(column));
  if (missing !== undefined) {
    throw new BatchFileError('missing_column', `The header has no ${missing} column.`, 400, missing);
  }
  return { positions, named: new Set(positions.values()), width: cells.length };
}

export function lineProblem(line: number, message: string): LineProblem {
  return { kind: 'problem', line, code: 'line_malformed', message };
}

/**
 * A row's cells (trimmed, at the header's positions; missing ones read as empty) as a card line. A
 * value under an unnamed column makes it a problem: the row does not line up with the header.
 * `columnLabel` names a 0-based column for people (CSV: "column 6", XLSX: "column F").
 */
export function rowToLine(
  header: Header,
  cells: readonly string[],
  line: number,
  columnLabel: (index: number) => string,
): ParsedLine | LineProblem {
  const stray = cells.findIndex((cell, i) => cell !== '' && !header.named.has(i));
  if (stray !== -1) {
    return lineProblem(
      line,
      `Line ${line} has a value in ${columnLabel(stray)}, which has no column name in the header.`,
    );
  }
  const cell = (column: BatchColumn): string => {
    const at = header.positions.get(column);
    return at === undefined ? '' : (cells[at] ?? '');
  };
  const merchantOrderId = cell('merchant_order_id');
  return {
    kind: 'line',
    line,
    cardNumber: cell('card_number'),
    cardSecret: cell('card_secret'),
    cardType: cell('card_type'),
    declaredFaceValue: cell('declared_face_value'),
    ...(merchantOrderId === '' ? {} : { merchantOrderId }),
  };
}
