import iconv from 'iconv-lite';
import { BatchFileError } from './file-error.js';

/**
 * The text encodings a text or CSV batch file may be in, and how one is chosen while the file streams:
 *
 * - a byte order mark decides first, over what the uploader said: UTF-8 (EF BB BF) or GB18030
 *   (84 31 95 33), stripped; a UTF-16 mark (FF FE / FE FF) is refused, UTF-16 is not taken;
 * - else the uploader's encoding, when given;
 * - else the bytes: ASCII passes through undecided; from the first non-ASCII byte up to
 *   `DETECTION_WINDOW` bytes are held, and they choose UTF-8 if they are well-formed UTF-8, else
 *   GB18030 if well-formed GB18030, else the file is refused. A file that stays ASCII is UTF-8.
 *
 * Whatever was chosen, every later byte is checked too: a byte that is not part of a well-formed
 * character refuses the file (`undetectable_encoding`) rather than becoming U+FFFD. A NUL byte refuses
 * it as well: text files have none, binary and UTF-16 files do.
 */
export type TextEncoding = 'utf-8' | 'gb18030';

/** Bytes held after the first non-ASCII byte to choose the encoding from (fewer at the end of the file). */
export const DETECTION_WINDOW = 64 * 1024;

/**
 * A well-formedness check of a byte stream, fed chunk after chunk: a character may be split between
 * chunks (its state carries over).
 */
export interface ByteValidator {
  /**
   * Checks `bytes`, which follow everything fed before. Returns the offset in `bytes` just past the
   * last character completed in them (0: none; the bytes after it open a character the next chunk
   * completes), or, at an invalid byte at offset i, `-(i + 1)`.
   */
  feed(bytes: Uint8Array): number;
  /** No character left open: the stream may end here. */
  readonly atBoundary: boolean;
}

/**
 * UTF-8 as the Unicode standard defines it (table 3-7): no overlong forms, no surrogates (ED A0–BF),
 * nothing above U+10FFFF. The lead byte fixes how many continuation bytes follow and the range of the
 * first one; the others are 80–BF.
 */
export class Utf8Validator implements ByteValidator {
  /** Continuation bytes still due in the open character. */
  private needed = 0;
  /** The range the next continuation byte must be in. */
  private low = 0x80;
  private high = 0xbf;

  get atBoundary(): boolean {
    return this.needed === 0;
  }

  feed(bytes: Uint8Array): number {
    let boundary = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if (this.needed === 0) {
        if (b < 0x80) boundary = i + 1;
        else if (!this.lead(b)) return -(i + 1);
      } else {
        if (b < this.low || b > this.high) return -(i + 1);
        this.low = 0x80;
        this.high = 0xbf;
        this.needed--;
        if (this.needed === 0) boundary = i + 1;
      }
    }
    return boundary;
  }

  /** Opens a character at lead byte `b`; false for a byte that cannot lead one (80–C1, F5–FF). */
  private lead(b: number): boolean {
    if (b >= 0xc2 && b <= 0xdf) return this.expect(1, 0x80, 0xbf);
    if (b === 0xe0) return this.expect(2, 0xa0, 0xbf); // E0 80–9F would be overlong
    if (b === 0xed) return this.expect(2, 0x80, 0x9f); // ED A0–BF would be a surrogate
    if (b >= 0xe1 && b <= 0xef) return this.expect(2, 0x80, 0xbf);
    if (b === 0xf0) return this.expect(3, 0x90, 0xbf); // F0 80–8F would be overlong
    if (b >= 0xf1 && b <= 0xf3) return this.expect(3, 0x80, 0xbf);
    if (b === 0xf4) return this.expect(3, 0x80, 0x8f); // F4 90+ would be above U+10FFFF
    return false;
  }

  private expect(needed: number, low: number, high: number): true {
    this.needed = needed;
    this.low = low;
    this.high = high;
    return true;
  }
}

/** Linear index of the last four-byte GB18030 code of the BMP (84 31 A4 39, U+FFFF). */
const GB_FOUR_BYTE_BMP_LAST = 39_419;
/** Linear indexes of 90 30 81 30 (U+10000) and E3 32 9A 35 (U+10FFFF). */
const GB_SUPPLEMENTARY_FIRST = 189_000;
const GB_SUPPLEMENTARY_LAST = 1_237_575;

/**
 * GB18030 by its byte structure: one byte 00–7F; two bytes 81–FE then 40–7E or 80–FE; four bytes
 * 81–FE 30–39 81–FE 30–39. Four-byte codes must also fall in the ranges that map to Unicode (BMP:
 * up to 84 31 A4 39; supplementary planes: 90 30 81 30 to E3 32 9A 35): iconv-lite decodes the codes
 * between and after them into wrong or lone-surrogate characters instead of refusing them.
 */
export class Gb18030Validator implements ByteValidator {
  /** Bytes of the open character seen so far (0: between characters). */
  private seen = 0;
  /** The open four-byte code's linear index so far (bytes 1–3; the ranges are contiguous in it). */
  private index = 0;

  get atBoundary(): boolean {
    return this.seen === 0;
  }

  feed(bytes: Uint8Array): number {
    let boundary = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if (!this.step(b)) return -(i + 1);
      if (this.seen === 0) boundary = i + 1;
    }
    return boundary;
  }

  private step(b: number): boolean {
    switch (this.seen) {
      case 0:
        if (b <= 0x7f) return true;
        if (b < 0x81 || b > 0xfe) return false; // 80 and FF lead nothing
        this.seen = 1;
        this.index = b - 0x81;
        return true;
      case 1:
        if ((b >= 0x40 && b <= 0x7e) || (b >= 0x80 && b <= 0xfe)) {
          this.seen = 0;
          return true;
        }
        if (b < 0x30 || b > 0x39) return false;
        this.seen = 2;
        this.index = this.index * 10 + (b - 0x30);
        return true;
      case 2:
        if (b < 0x81 || b > 0xfe) return false;
        this.seen = 3;
        this.index = this.index * 126 + (b - 0x81);
        return true;
      default: {
        if (b < 0x30 || b > 0x39) return false;
        const index = this.index * 10 + (b - 0x30);
        this.seen = 0;
        return (
          index <= GB_FOUR_BYTE_BMP_LAST ||
          (index >= GB_SUPPLEMENTARY_FIRST && index <= GB_SUPPLEMENTARY_LAST)
        );
      }
    }
  }
}

function validatorFor(encoding: TextEncoding): ByteValidator {
  return encoding === 'utf-8' ? new Utf8Validator() : new Gb18030Validator();
}

/** Decodes bytes that hold whole characters only (the validators find where those end). */
function decodeWhole(encoding: TextEncoding, bytes: Buffer): string {
  // iconv-lite's streaming GB18030 decoder drops the low surrogate of a four-byte code split between
  // writes; whole characters need no stream state, so none is kept. A BOM is not stripped here: only
  // one at the very start is a BOM.
  return encoding === 'utf-8' ? bytes.toString('utf8') : iconv.decode(bytes, 'gb18030', { stripBOM: false });
}

const BOMS: readonly { bytes: Buffer; encoding: TextEncoding | 'utf-16' }[] = [
  { bytes: Buffer.from([0xef, 0xbb, 0xbf]), encoding: 'utf-8' },
  { bytes: Buffer.from([0x84, 0x31, 0x95, 0x33]), encoding: 'gb18030' },
  { bytes: Buffer.from([0xff, 0xfe]), encoding: 'utf-16' },
  { bytes: Buffer.from([0xfe, 0xff]), encoding: 'utf-16' },
];
/** Bytes held at the start to see a BOM whole. */
const LONGEST_BOM = 4;

function firstNonAscii(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) >= 0x80) return i;
  return -1;
}

function refused(message: string): BatchFileError {
  return new BatchFileError('undetectable_encoding', message, 400);
}

const AGAIN = 'save it as UTF-8 (or GB18030) text and upload it again';
const NAMES: Record<TextEncoding, string> = { 'utf-8': 'UTF-8', gb18030: 'GB18030' };

/**
 * Turns a text or CSV file's bytes into text, chunk by chunk, choosing the encoding as described at
 * `TextEncoding`. `push` returns the text the chunk completes (possibly none while the BOM or the
 * encoding is still being judged), `end` the rest; both throw `undetectable_encoding`.
 */
export class TextDecoding {
  /** The first bytes, held until a BOM can be judged; null once it was. */
  private head: Buffer | null = Buffer.alloc(0);
  private chosen: TextEncoding | undefined;
  private validator: ByteValidator | undefined;
  /** Bytes of a character the next chunk completes, once the encoding is chosen. */
  private carry: Buffer = Buffer.alloc(0);
  /** Bytes from the first non-ASCII one on, held until the encoding is chosen. */
  private window: Buffer[] = [];
  private windowBytes = 0;
  /** Offset in the file of the next byte pushed (for messages). */
  private offset = 0;

  constructor(
    private readonly declared: TextEncoding | undefined,
    private readonly onChosen: (encoding: TextEncoding) => void,
  ) {}

  push(chunk: Buffer): string {
    if (chunk.includes(0)) throw refused(`The file contains NUL bytes, so it is not a text file; ${AGAIN}.`);
    if (this.head === null) return this.take(chunk);
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < LONGEST_BOM) return '';
    return this.afterHead();
  }

  end(): string {
    let text = this.head === null ? '' : this.afterHead();
    if (this.chosen === undefined && this.windowBytes > 0) text += this.decide(true);
    if (this.chosen === undefined) this.choose('utf-8'); // ASCII throughout (or nothing)
    if (this.validator !== undefined && !this.validator.atBoundary) {
      const name = NAMES[this.chosen ?? 'utf-8'];
      throw refused(`The file ends in the middle of a ${name} character; ${AGAIN}.`);
    }
    return text;
  }

  /** Judges the BOM, then takes the bytes after it as any other chunk. */
  private afterHead(): string {
    const head = this.head ?? Buffer.alloc(0);
    this.head = null;
    const bom = BOMS.find((b) => head.subarray(0, b.bytes.length).equals(b.bytes));
    if (bom?.encoding === 'utf-16') throw refused(`The file is UTF-16 text, which is not taken; ${AGAIN}.`);
    const encoding = bom?.encoding ?? this.declared;
    const rest = bom ? head.subarray(bom.bytes.length) : head;
    this.offset = head.length - rest.length;
    if (encoding !== undefined) this.choose(encoding);
    return this.take(rest);
  }

  private take(chunk: Buffer): string {
    if (this.chosen !== undefined) return this.decode(chunk);
    if (this.windowBytes > 0) return this.hold(chunk);
    const firstHigh = firstNonAscii(chunk);
    if (firstHigh === -1) {
      this.offset += chunk.length;
      return chunk.toString('latin1'); // ASCII: the same text in either encoding
    }
    const ascii = chunk.toString('latin1', 0, firstHigh);
    this.offset += firstHigh;
    return ascii + this.hold(chunk.subarray(firstHigh));
  }

  /** Holds bytes until the window is full, then chooses the encoding and decodes them. */
  private hold(chunk: Buffer): string {
    this.window.push(chunk);
    this.windowBytes += chunk.length;
    return this.windowBytes >= DETECTION_WINDOW ? this.decide(false) : '';
  }

  /**
   * UTF-8 if the held bytes are well-formed UTF-8, else GB18030 if they are well-formed GB18030. In
   * this order: GB18030 Chinese is seldom well-formed UTF-8, while UTF-8 Chinese often is well-formed
   * GB18030 (订单 in UTF-8 reads as three GB18030 characters).
   */
  private decide(atEnd: boolean): string {
    const held = Buffer.concat(this.window);
    this.window = [];
    this.windowBytes = 0;
    for (const encoding of ['utf-8', 'gb18030'] as const) {
      const validator = validatorFor(encoding);
      const boundary = validator.feed(held);
      if (boundary >= 0 && (!atEnd || validator.atBoundary)) {
        this.choose(encoding, validator);
        return this.decodeChecked(held, boundary);
      }
    }
    throw refused(`The file's text is neither UTF-8 nor GB18030 (from byte ${this.offset}); ${AGAIN}.`);
  }

  private choose(encoding: TextEncoding, validator: ByteValidator = validatorFor(encoding)): void {
    this.chosen = encoding;
    this.validator = validator;
    this.onChosen(encoding);
  }

  private decode(chunk: Buffer): string {
    const boundary = this.validator?.feed(chunk) ?? 0;
    if (boundary < 0) {
      const at = this.offset - boundary - 1;
      const name = NAMES[this.chosen ?? 'utf-8'];
      throw refused(`Byte ${at} of the file is not part of a ${name} character; ${AGAIN}.`);
    }
    return this.decodeChecked(chunk, boundary);
  }

  /** Decodes the carried bytes and the chunk's bytes up to `boundary`; carries the rest. */
  private decodeChecked(chunk: Buffer, boundary: number): string {
    this.offset += chunk.length;
    if (boundary === 0) {
      // No character ends in this chunk: all of it belongs to the open one.
      this.carry = Buffer.concat([this.carry, chunk]);
      return '';
    }
    const whole =
      this.carry.length > 0
        ? Buffer.concat([this.carry, chunk.subarray(0, boundary)])
        : chunk.subarray(0, boundary);
    // Copied: a view would keep the whole chunk alive for a few bytes.
    this.carry = Buffer.from(chunk.subarray(boundary));
    return decodeWhole(this.chosen ?? 'utf-8', whole);
  }
}

/** The text of a file's chunks (see `TextDecoding`); `onChosen` hears the encoding once it is known. */
export async function* decodeText(
  input: AsyncIterable<Buffer>,
  declared: TextEncoding | undefined,
  onChosen: (encoding: TextEncoding) => void,
): AsyncGenerator<string> {
  const decoding = new TextDecoding(declared, onChosen);
  for await (const chunk of input) {
    const text = decoding.push(chunk);
    if (text !== '') yield text;
  }
  const rest = decoding.end();
  if (rest !== '') yield rest;
}
