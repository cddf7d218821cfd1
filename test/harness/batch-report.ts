/**
 * A batch report's CSV as cells (header row first): the byte-order mark dropped, CRLF lines split.
 * Report cells never hold a comma in these tests (masked numbers, codes, amounts).
 */
export function reportCells(body: Buffer): string[][] {
  return body
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trim()
    .split('\r\n')
    .map((l) => l.split(','));
}
