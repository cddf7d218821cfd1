export type BatchFileErrorCode =
  | 'unknown_column'
  | 'missing_column'
  | 'duplicate_column'
  | 'unreadable_xlsx'
  | 'undetectable_encoding'
  | 'too_many_lines'
  | 'empty_file';

/**
 * A batch file that cannot be taken at all (as opposed to one bad line, a `LineProblem`). The message
 * is for people and never holds a card secret; `field` names the column at fault, where there is one.
 */
export class BatchFileError extends Error {
  constructor(
    readonly code: BatchFileErrorCode,
    message: string,
    readonly status: 400 | 413,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'BatchFileError';
  }
}
