/**
 * Line breaks of decoded text: LF, CRLF and a lone CR (old Mac files) all end a line, and all become
 * LF, so that a line number counts the breaks a person sees whatever wrote the file (csv-parse counts
 * a CRLF inside a quoted cell as two lines, and a lone CR as one).
 */
export async function* normalizeNewlines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let heldCr = false;
  for await (const chunk of chunks) {
    let text: string = heldCr ? `\r${chunk}` : chunk;
    // A CR at the end of a chunk may be the first half of a CRLF: judged with the next chunk.
    heldCr = text.endsWith('\r');
    if (heldCr) text = text.slice(0, -1);
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    if (text !== '') yield text;
  }
  if (heldCr) yield '\n';
}

export interface TextLine {
  /** 1-based. */
  line: number;
  /** Without its line break; null for a line longer than the limit (not kept while it is read). */
  text: string | null;
}

/**
 * The lines of LF-separated text (see `normalizeNewlines`), a last one without a break included.
 * Only the line being read is held, and of it at most `maxChars` characters.
 */
export async function* splitLines(chunks: AsyncIterable<string>, maxChars: number): AsyncGenerator<TextLine> {
  let line = 0;
  let partial = '';
  let tooLong = false;
  for await (const chunk of chunks) {
    let start = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      const text = tooLong ? null : partial + chunk.slice(start, end);
      line++;
      yield { line, text: text !== null && text.length > maxChars ? null : text };
      partial = '';
      tooLong = false;
      start = end + 1;
    }
    if (!tooLong) partial += chunk.slice(start);
    if (partial.length > maxChars) {
      tooLong = true;
      partial = '';
    }
  }
  if (tooLong || partial !== '') yield { line: line + 1, text: tooLong ? null : partial };
}
