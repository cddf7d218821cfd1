import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDefaultHighWaterMark } from 'node:stream';
import { crc32 } from 'node:zlib';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DETECTION_WINDOW, Gb18030Validator, Utf8Validator } from './encoding.js';
import {
  BatchFileError,
  type BatchFormat,
  batchFileEncoding,
  type LineProblem,
  MAX_TEXT_LINE_CHARS,
  type ParsedLine,
  type ParseOptions,
  parseBatchFile,
} from './parse.js';
import { cellText, columnLetters, numberText } from './xlsx.js';

const HEADER = 'card_type,card_number,card_secret,declared_face_value,merchant_order_id';

/** The bytes as an upload: chunks of 1 to 7 bytes by default, to split characters and line breaks. */
async function* chunked(
  bytes: Buffer,
  sizes: readonly number[] = [1, 2, 3, 4, 5, 6, 7],
): AsyncGenerator<Buffer> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

async function* whole(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

type Item = ParsedLine | LineProblem;

async function parseAll(
  input: Buffer | AsyncIterable<Buffer>,
  format: BatchFormat,
  options: Partial<ParseOptions> = {},
): Promise<Item[]> {
  const items: Item[] = [];
  const source = Buffer.isBuffer(input) ? chunked(input) : input;
  for await (const item of parseBatchFile(source, { format, maxLines: 1000, ...options })) items.push(item);
  return items;
}

async function refusal(pending: Promise<unknown>): Promise<BatchFileError> {
  const error = await pending.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof BatchFileError)) throw new Error(`expected a BatchFileError, got ${String(error)}`);
  return error;
}

const text = (s: string) => Buffer.from(s, 'utf8');
const cards = (items: Item[]) =>
  items.map((i) => (i.kind === 'line' ? [i.line, i.cardNumber, i.cardSecret] : i.line));

describe('text files', () => {
  it('splits on spaces, runs of spaces, a tab or a comma (spaces around it allowed), LF or CRLF', async () => {
    const items = await parseAll(
      text('1111 aaaa\n2222    bbbb\r\n3333\tcccc\n4444,dddd\r\n5555 , eeee\n6666 \t 7777\n'),
      'text',
    );
    expect(cards(items)).toEqual([
      [1, '1111', 'aaaa'],
      [2, '2222', 'bbbb'],
      [3, '3333', 'cccc'],
      [4, '4444', 'dddd'],
      [5, '5555', 'eeee'],
      [6, '6666', '7777'],
    ]);
    expect(items[0]).toEqual({ kind: 'line', line: 1, cardNumber: '1111', cardSecret: 'aaaa' });
  });

  it('trims a line, and takes a last line without a line break', async () => {
    expect(cards(await parseAll(text('  1111 aaaa \t\r\n\t2222,bbbb'), 'text'))).toEqual([
      [1, '1111', 'aaaa'],
      [2, '2222', 'bbbb'],
    ]);
  });

  it('makes a line of 1 or 3+ fields (two commas: an empty field) a problem that quotes neither number nor secret', async () => {
    const items = await parseAll(
      text('9876543210123 S3CRETXYZ\n9876543210123\n1 2 3\n1,,2\n4444 dddd extra\n'),
      'text',
    );
    expect(items.map((i) => i.kind)).toEqual(['line', 'problem', 'problem', 'problem', 'problem']);
    const problems = items.filter((i): i is LineProblem => i.kind === 'problem');
    expect(problems.map((p) => [p.line, p.code])).toEqual([
      [2, 'line_malformed'],
      [3, 'line_malformed'],
      [4, 'line_malformed'],
      [5, 'line_malformed'],
    ]);
    expect(problems[0]?.message).toMatch(/Line 2 has 1 field;/);
    expect(problems[1]?.message).toMatch(/Line 3 has 3 fields;/);
    for (const p of problems) expect(p.message).not.toMatch(/9876|dddd|extra/);
  });

  it('skips blank and whitespace-only lines without counting them; numbers stay the file lines', async () => {
    const items = await parseAll(text('\n   \n1111 aaaa\r\n\t\r\n\r\n2222 bbbb\n \n'), 'text', {
      maxLines: 2,
    });
    expect(cards(items)).toEqual([
      [3, '1111', 'aaaa'],
      [6, '2222', 'bbbb'],
    ]);
  });

  it('ends a line at a lone CR as well (old Mac files), a CRLF split between chunks counting once', async () => {
    expect(cards(await parseAll(text('1111 aaaa\r2222 bbbb\r\n3333 cccc'), 'text'))).toEqual([
      [1, '1111', 'aaaa'],
      [2, '2222', 'bbbb'],
      [3, '3333', 'cccc'],
    ]);
    const split = (async function* () {
      yield text('1111 aaaa\r');
      yield text('\n2222 bbbb\r');
      yield text('\r3333 cccc');
    })();
    expect(cards(await parseAll(split, 'text'))).toEqual([
      [1, '1111', 'aaaa'],
      [2, '2222', 'bbbb'],
      [4, '3333', 'cccc'],
    ]);
  });

  it('makes an over-long line a problem without holding it, and reads on', async () => {
    const long = 'x'.repeat(MAX_TEXT_LINE_CHARS * 5);
    const items = await parseAll(text(`1111 aaaa\n${long} secret\n2222 bbbb\n`), 'text');
    expect(cards(items)).toEqual([[1, '1111', 'aaaa'], 2, [3, '2222', 'bbbb']]);
    expect(items[1]).toMatchObject({
      kind: 'problem',
      message: `Line 2 is longer than ${MAX_TEXT_LINE_CHARS} characters.`,
    });
  });
});

describe('CSV files', () => {
  it('reads the header case-insensitively and trimmed, and each row into its columns', async () => {
    const csv =
      ' Card_Type ,CARD_NUMBER,card_secret,Declared_Face_Value, merchant_order_id \nmobile,1111,aaaa,100,m-1\nmobile, 2222 ,bbbb,50,\n';
    expect(await parseAll(text(csv), 'csv')).toEqual([
      {
        kind: 'line',
        line: 2,
        cardType: 'mobile',
        cardNumber: '1111',
        cardSecret: 'aaaa',
        declaredFaceValue: '100',
        merchantOrderId: 'm-1',
      },
      {
        kind: 'line',
        line: 3,
        cardType: 'mobile',
        cardNumber: '2222',
        cardSecret: 'bbbb',
        declaredFaceValue: '50',
      },
    ]);
  });

  it('takes the columns in any order, merchant_order_id optional', async () => {
    const items = await parseAll(
      text('card_secret,declared_face_value,card_number,card_type\naaaa,100,1111,gift\n'),
      'csv',
    );
    expect(items).toEqual([
      {
        kind: 'line',
        line: 2,
        cardType: 'gift',
        cardNumber: '1111',
        cardSecret: 'aaaa',
        declaredFaceValue: '100',
      },
    ]);
  });

  it('refuses a header without a required column, naming it', async () => {
    for (const missing of ['card_type', 'card_number', 'card_secret', 'declared_face_value']) {
      const header = HEADER.split(',').filter((c) => c !== missing);
      const error = await refusal(
        parseAll(text(`${header.join(',')}\n${header.map(() => 'x').join(',')}\n`), 'csv'),
      );
      expect([error.code, error.status, error.field]).toEqual(['missing_column', 400, missing]);
    }
  });

  it('refuses an unknown column and a repeated one (also in another case)', async () => {
    const unknown = await refusal(parseAll(text(`${HEADER},Face Value\n`), 'csv'));
    expect([unknown.code, unknown.status, unknown.field]).toEqual(['unknown_column', 400, 'Face Value']);
    const duplicate = await refusal(parseAll(text(`${HEADER},CARD_NUMBER\n`), 'csv'));
    expect([duplicate.code, duplicate.status, duplicate.field]).toEqual([
      'duplicate_column',
      400,
      'card_number',
    ]);
  });

  it('takes a first row naming no column for a card line: missing header, no cell quoted', async () => {
    const error = await refusal(parseAll(text('mobile,9876543210123,S3CRETXYZ,100\n'), 'csv'));
    expect([error.code, error.field]).toEqual(['missing_column', 'card_type']);
    expect(error.message).not.toMatch(/9876|S3CRET/);
  });

  it('reads quoted cells per RFC 4180: commas, doubled quotes, line breaks; numbers are the row’s first line', async () => {
    const csv = [
      HEADER,
      'mobile,"1111","a,b ""c""",100,"order ""7"""',
      'mobile,2222,bbbb,100,"two',
      'lines"',
      '',
      'mobile,3333,"three',
      '',
      'lines",100,',
      'mobile,4444,dddd,100,',
    ].join('\r\n');
    const items = await parseAll(text(csv), 'csv');
    expect(
      items.map((i) => (i.kind === 'line' ? [i.line, i.cardNumber, i.cardSecret, i.merchantOrderId] : i)),
    ).toEqual([
      [2, '1111', 'a,b "c"', 'order "7"'],
      [3, '2222', 'bbbb', 'two\nlines'],
      [6, '3333', 'three\n\nlines', undefined],
      [9, '4444', 'dddd', undefined],
    ]);
  });

  it('makes a row with the wrong number of cells a problem; rows of empty cells are skipped', async () => {
    const csv = `${HEADER}\nmobile,1111,aaaa,100\n,,,,\nmobile,2222,bbbb,100,,extra\nmobile,3333,cccc,100,\n`;
    const items = await parseAll(text(csv), 'csv');
    expect(cards(items)).toEqual([2, 4, [5, '3333', 'cccc']]);
    expect(items[0]).toMatchObject({
      code: 'line_malformed',
      message: 'Line 2 has 4 cells; the header has 5.',
    });
    expect(JSON.stringify(items)).not.toMatch(/aaaa|bbbb/);
  });

  it('allows unnamed (empty) header cells, but not values under them', async () => {
    const csv =
      'card_type,card_number,card_secret,declared_face_value,,\nmobile,1111,aaaa,100,,\nmobile,2222,bbbb,100,,oops\n';
    const items = await parseAll(text(csv), 'csv');
    expect(cards(items)).toEqual([[2, '1111', 'aaaa'], 3]);
    expect(items[1]).toMatchObject({ message: expect.stringMatching(/Line 3 has a value in column 6/) });
  });

  it('makes broken quoting a problem at its row, keeping the rows before it', async () => {
    const unclosed = `${HEADER}\nmobile,1111,aaaa,100,\n\nmobile,2222,"bbbb,100,\nmobile,3333,cccc,100,\n`;
    const items = await parseAll(text(unclosed), 'csv');
    expect(cards(items)).toEqual([[2, '1111', 'aaaa'], 4]);
    expect(items[1]).toMatchObject({ kind: 'problem', code: 'line_malformed' });
    expect(JSON.stringify(items[1])).not.toMatch(/bbbb/);
    const afterQuote = await parseAll(
      text(`${HEADER}\nmobile,1111,"aa"aa,100,\nmobile,2222,bbbb,100,\n`),
      'csv',
    );
    expect(cards(afterQuote)).toEqual([2]);
    const headerOnlyBroken = await parseAll(text(`${HEADER}\n"`), 'csv');
    expect(cards(headerOnlyBroken)).toEqual([2]);
  });

  it('counts a file with only a header (or nothing) as empty', async () => {
    for (const csv of [`${HEADER}\n`, `\n${HEADER}\n\n,,,,\n`, '', '\n\n']) {
      const error = await refusal(parseAll(text(csv), 'csv'));
      expect([error.code, error.status]).toEqual(['empty_file', 400]);
    }
  });
});

/** A CSV with Chinese merchant order ids, as a Chinese Excel saves it: GB18030 (GBK), no BOM. */
const CHINESE_CSV = `${HEADER}\n话费卡,1111,aaaa,100,订单一号\n加油卡,2222,bbbb,50,订单𠀀二号\n`;

describe('encodings of text and CSV files', () => {
  it('detects GB18030 and decodes it, characters split across 1–7 byte chunks', async () => {
    const bytes = iconv.encode(CHINESE_CSV, 'gb18030');
    expect(bytes.includes(iconv.encode('𠀀', 'gb18030'))).toBe(true); // a four-byte code
    for (const sizes of [[1], [2], [3], [7], [1, 2, 3, 4, 5, 6, 7]]) {
      const parser = parseBatchFile(chunked(bytes, sizes), { format: 'csv', maxLines: 10 });
      const items: Item[] = [];
      for await (const item of parser) items.push(item);
      expect(items.map((i) => (i.kind === 'line' ? [i.cardType, i.merchantOrderId] : i))).toEqual([
        ['话费卡', '订单一号'],
        ['加油卡', '订单𠀀二号'],
      ]);
      expect(batchFileEncoding(parser)).toBe('gb18030');
    }
  });

  it('detects UTF-8, characters split across chunks, and calls pure ASCII UTF-8', async () => {
    const utf8 = parseBatchFile(chunked(text(CHINESE_CSV), [1, 2, 3]), { format: 'csv', maxLines: 10 });
    const orders: (string | undefined)[] = [];
    for await (const item of utf8) if (item.kind === 'line') orders.push(item.merchantOrderId);
    expect(orders).toEqual(['订单一号', '订单𠀀二号']);
    expect(batchFileEncoding(utf8)).toBe('utf-8');
    const ascii = parseBatchFile(chunked(text('1111 aaaa\n')), { format: 'text', maxLines: 10 });
    expect(batchFileEncoding(ascii)).toBeUndefined();
    for await (const _ of ascii);
    expect(batchFileEncoding(ascii)).toBe('utf-8');
  });

  it('strips a UTF-8 BOM (the header is read) and a GB18030 one; a BOM overrides the uploader', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const utf8 = Buffer.concat([bom, text(CHINESE_CSV)]);
    expect(await parseAll(utf8, 'csv')).toHaveLength(2);
    const declaredWrong = parseBatchFile(chunked(utf8), { format: 'csv', maxLines: 10, encoding: 'gb18030' });
    const orders: (string | undefined)[] = [];
    for await (const item of declaredWrong) if (item.kind === 'line') orders.push(item.merchantOrderId);
    expect(orders).toEqual(['订单一号', '订单𠀀二号']);
    expect(batchFileEncoding(declaredWrong)).toBe('utf-8');
    const gbBom = Buffer.concat([
      Buffer.from([0x84, 0x31, 0x95, 0x33]),
      iconv.encode('1111 订单\n', 'gb18030'),
    ]);
    expect(cards(await parseAll(gbBom, 'text'))).toEqual([[1, '1111', '订单']]);
  });

  it('uses the uploader’s encoding, and refuses bytes that are not of it', async () => {
    const gb = iconv.encode(CHINESE_CSV, 'gb18030');
    expect(await parseAll(gb, 'csv', { encoding: 'gb18030' })).toHaveLength(2);
    const error = await refusal(parseAll(gb, 'csv', { encoding: 'utf-8' }));
    expect([error.code, error.status]).toEqual(['undetectable_encoding', 400]);
  });

  it('refuses bytes that are neither UTF-8 nor GB18030', async () => {
    for (const bad of [[0xff], [0x80], [0x81, 0x20], [0x81, 0x30, 0x20], [0xc3, 0x28, 0xff]]) {
      const bytes = Buffer.concat([text('1111 '), Buffer.from(bad), text('\n')]);
      const error = await refusal(parseAll(bytes, 'text'));
      expect(error.code).toBe('undetectable_encoding');
    }
  });

  it('refuses GB18030 four-byte codes that map to no character (iconv-lite would make them garbage)', async () => {
    for (const code of [
      [0x84, 0x31, 0xa5, 0x30],
      [0x8f, 0x39, 0xfe, 0x39],
      [0xe3, 0x32, 0x9a, 0x36],
    ]) {
      const bytes = Buffer.concat([iconv.encode('1111 订单', 'gb18030'), Buffer.from(code), text('\n')]);
      expect((await refusal(parseAll(bytes, 'text'))).code).toBe('undetectable_encoding');
    }
  });

  it('refuses invalid bytes late in the file too: after 100 KiB of ASCII, and after the encoding was chosen', async () => {
    const ascii = text('1111 aaaa\n'.repeat(10_240));
    const lateBad = Buffer.concat([ascii, Buffer.from([0xff]), text('\n')]);
    expect((await refusal(parseAll(whole(lateBad), 'text', { maxLines: 20_000 }))).code).toBe(
      'undetectable_encoding',
    );
    // UTF-8 chosen from the first window; GB18030 bytes long after it do not pass as UTF-8. (Within the
    // window they would have chosen GB18030: these UTF-8 bytes happen to be well-formed GB18030 too.)
    const utf8 = text('1111 订单\n'.repeat(Math.ceil((3 * DETECTION_WINDOW) / 12)));
    const mixed = Buffer.concat([utf8, iconv.encode('2222 订单\n', 'gb18030')]);
    const error = await refusal(parseAll(chunked(mixed, [65_536]), 'text', { maxLines: 20_000 }));
    expect(error.code).toBe('undetectable_encoding');
    expect(error.message).toMatch(/not part of a UTF-8 character/);
    // Nothing is yielded decoded as U+FFFD before the refusal.
    const seen: Item[] = [];
    await refusal(
      (async () => {
        for await (const item of parseBatchFile(chunked(mixed, [65_536]), {
          format: 'text',
          maxLines: 20_000,
        })) {
          seen.push(item);
        }
      })(),
    );
    expect(seen.some((i) => JSON.stringify(i).includes('\ufffd'))).toBe(false);
  });

  it('refuses a file that ends inside a multi-byte character', async () => {
    // 1111 and the first byte of 订 in UTF-8 (its first two would be a GB18030 character); a GB18030
    // four-byte code cut after three.
    for (const bytes of [text('1111 订').subarray(0, 6), Buffer.from([0x31, 0x20, 0x81, 0x30, 0x81])]) {
      expect((await refusal(parseAll(bytes, 'text'))).code).toBe('undetectable_encoding');
    }
  });

  it('refuses NUL bytes (a binary file) and UTF-16', async () => {
    const nul = await refusal(parseAll(text('1111 aaaa\n2222\u0000 bbbb\n'), 'text'));
    expect([nul.code, nul.status]).toEqual(['undetectable_encoding', 400]);
    expect(nul.message).toMatch(/NUL/);
    for (const utf16 of [
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('1111 aaaa\n', 'utf16le')]),
      Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('1111 aaaa\n', 'utf16le').swap16()]),
      Buffer.from('card_type,card_number\n', 'utf16le'),
    ]) {
      expect((await refusal(parseAll(utf16, 'csv'))).code).toBe('undetectable_encoding');
    }
    const bom = await refusal(parseAll(Buffer.from([0xff, 0xfe, 0x31, 0x00]), 'text'));
    expect(bom.message).toMatch(/NUL|UTF-16/);
  });
});

describe('byte validators', () => {
  const utf8Valid = (bytes: Uint8Array): boolean => {
    const v = new Utf8Validator();
    return v.feed(bytes) >= 0 && v.atBoundary;
  };

  it('accept exactly what a fatal UTF-8 decoder accepts', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true });
    const decodes = (bytes: Uint8Array) => {
      try {
        fatal.decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    const byte = fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0x80, max: 0xbf }),
      fc.constantFrom(0xe0, 0xed, 0xf0, 0xf4),
    );
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 12 }), (bytes) => {
        expect(utf8Valid(Uint8Array.from(bytes))).toBe(decodes(Uint8Array.from(bytes)));
      }),
      { numRuns: 5000 },
    );
    for (const bad of [
      [0xc0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5],
    ]) {
      expect(utf8Valid(Uint8Array.from(bad))).toBe(false);
    }
  });

  it('take any GB18030 iconv-lite writes, split anywhere, and report where characters end', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 20 }),
        fc.integer({ min: 0, max: 80 }),
        (s, cut) => {
          const bytes = iconv.encode(s.replaceAll('\ufffd', ''), 'gb18030');
          const v = new Gb18030Validator();
          const at = Math.min(cut, bytes.length);
          const first = v.feed(bytes.subarray(0, at));
          const second = v.feed(bytes.subarray(at));
          expect(first).toBeGreaterThanOrEqual(0);
          expect(second).toBeGreaterThanOrEqual(0);
          expect(v.atBoundary).toBe(true);
          expect(iconv.decode(bytes.subarray(0, first), 'gb18030')).not.toContain('\ufffd');
        },
      ),
      { numRuns: 2000 },
    );
    const v = new Gb18030Validator();
    expect(v.feed(Buffer.from([0x41, 0xd6, 0xd0, 0x81]))).toBe(3); // A 中, then a lead byte
    expect(v.atBoundary).toBe(false);
    expect(v.feed(Buffer.from([0x30, 0x81, 0x30]))).toBe(3);
    expect(new Gb18030Validator().feed(Buffer.from([0x41, 0xff]))).toBe(-2);
  });
});

/** An XLSX file written by exceljs: rows of the first sheet, optional cell formats and more sheets. */
async function xlsx(
  rows: unknown[][],
  options: { numFmt?: Record<string, string>; firstRow?: number; sheets?: unknown[][][] } = {},
): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Cards');
  rows.forEach((values, i) => {
    sheet.getRow((options.firstRow ?? 1) + i).values = values as ExcelJS.CellValue[];
  });
  for (const [address, format] of Object.entries(options.numFmt ?? {}))
    sheet.getCell(address).numFmt = format;
  (options.sheets ?? []).forEach((more, n) => {
    const other = workbook.addWorksheet(`More ${n}`);
    for (const values of more) other.addRow(values);
  });
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

const XLSX_HEADER = HEADER.split(',');

/** A zip of stored (uncompressed) files, to make zips that are not workbooks. */
function storedZip(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const path = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(path.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(path.length, 28);
    central.writeUInt32LE(offset, 42);
    parts.push(local, path, data);
    directory.push(central, path);
    offset += local.length + path.length + data.length;
  }
  const end = Buffer.alloc(22);
  const centralBytes = Buffer.concat(directory);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(directory.length / 2, 8);
  end.writeUInt16LE(directory.length / 2, 10);
  end.writeUInt32LE(centralBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, centralBytes, end]);
}

/** exceljs's spooled worksheets (the `tmp` package names them tmp-<pid>-…). */
const spooledFiles = () => readdirSync(tmpdir()).filter((name) => name.startsWith(`tmp-${process.pid}-`));

describe('XLSX files', () => {
  // Workbooks refused as corrupt leave exceljs's spooled sheets behind (see xlsxLines); this worker
  // may be ended without the exit hook that would remove them.
  afterAll(() => {
    for (const name of spooledFiles()) rmSync(join(tmpdir(), name), { force: true });
  });

  it('reads the first non-empty row as the header and numbers lines as the sheet does', async () => {
    const file = await xlsx(
      [[], XLSX_HEADER, ['话费卡', '1111', 'aaaa', '100', '订单一号'], [], ['  gift ', '2222', 'bbbb', '50']],
      { firstRow: 2 },
    );
    expect(await parseAll(whole(file), 'xlsx')).toEqual([
      {
        kind: 'line',
        line: 4,
        cardType: '话费卡',
        cardNumber: '1111',
        cardSecret: 'aaaa',
        declaredFaceValue: '100',
        merchantOrderId: '订单一号',
      },
      {
        kind: 'line',
        line: 6,
        cardType: 'gift',
        cardNumber: '2222',
        cardSecret: 'bbbb',
        declaredFaceValue: '50',
      },
    ]);
  });

  it('writes number cells without exponent, padding zeros back where the number format shows them', async () => {
    const file = await xlsx(
      [
        XLSX_HEADER,
        ['mobile', 1234567890123456, 'aaaa', 100, 7],
        ['mobile', 123456789, 'bbbb', 50.5, 1e21],
        ['mobile', 1.23456789012346e18, { richText: [{ text: 'c' }, { text: 'cc' }] }, true, null],
      ],
      { numFmt: { B3: '0000000000000000' } },
    );
    const items = await parseAll(chunked(file, [4096]), 'xlsx');
    expect(
      items.map((i) =>
        i.kind === 'line' ? [i.cardNumber, i.cardSecret, i.declaredFaceValue, i.merchantOrderId] : i,
      ),
    ).toEqual([
      ['1234567890123456', 'aaaa', '100', '7'],
      ['0000000123456789', 'bbbb', '50.5', '1000000000000000000000'],
      ['1234567890123460000', 'ccc', 'TRUE', undefined],
    ]);
  });

  it('turns cell values into text', () => {
    expect(numberText(1e-7)).toBe('0.0000001');
    expect(numberText(0.1 + 0.2)).toBe('0.3');
    expect(numberText(42, '000000')).toBe('000042');
    expect(numberText(42.5, '000000')).toBe('42.5');
    expect(numberText(42, '0.00')).toBe('42');
    expect(cellText({ formula: 'A1', result: 5 })).toBe('5');
    expect(cellText({ text: 'link', hyperlink: 'https://example.com' })).toBe('link');
    expect(cellText({ error: '#N/A' })).toBe('#N/A');
    expect(cellText(new Date(Date.UTC(2026, 0, 2)))).toBe('2026-01-02T00:00:00.000Z');
    expect([0, 25, 26, 701, 702].map(columnLetters)).toEqual(['A', 'Z', 'AA', 'ZZ', 'AAA']);
  });

  it('takes the first worksheet only', async () => {
    const file = await xlsx([XLSX_HEADER, ['mobile', '1111', 'aaaa', '100']], {
      sheets: [[XLSX_HEADER, ['mobile', '9999', 'zzzz', '100']], [['not', 'a', 'header']]],
    });
    expect(cards(await parseAll(whole(file), 'xlsx'))).toEqual([[2, '1111', 'aaaa']]);
  });

  it('refuses header errors as CSV does, and makes a value beyond the header a problem', async () => {
    const unknown = await refusal(parseAll(whole(await xlsx([[...XLSX_HEADER, 'notes']])), 'xlsx'));
    expect([unknown.code, unknown.field]).toEqual(['unknown_column', 'notes']);
    const missing = await refusal(parseAll(whole(await xlsx([XLSX_HEADER.slice(1)])), 'xlsx'));
    expect([missing.code, missing.field]).toEqual(['missing_column', 'card_type']);
    const items = await parseAll(
      whole(await xlsx([XLSX_HEADER, ['m', '1111', 'aaaa', '1', '', '', 'x'], ['m', '2222']])),
      'xlsx',
    );
    expect(cards(items)).toEqual([2, [3, '2222', '']]);
    expect(items[0]).toMatchObject({
      message: 'Line 2 has a value in column G, which has no column name in the header.',
    });
  });

  it('counts a workbook with only a header, or an empty upload, as empty', async () => {
    expect((await refusal(parseAll(whole(await xlsx([XLSX_HEADER])), 'xlsx'))).code).toBe('empty_file');
    expect((await refusal(parseAll(whole(await xlsx([])), 'xlsx'))).code).toBe('empty_file');
    expect((await refusal(parseAll(whole(Buffer.alloc(0)), 'xlsx'))).code).toBe('empty_file');
  });

  it('refuses what is not a readable workbook: other bytes, a zip of other files, a broken worksheet', async () => {
    const notWorkbook = storedZip({ 'readme.txt': 'hello' });
    const brokenSheet = storedZip({
      'xl/_rels/workbook.xml.rels':
        '<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>',
      'xl/sharedStrings.xml': '<sst></sst>',
      'xl/worksheets/sheet1.xml':
        '<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row><<',
    });
    for (const bytes of [
      text(`${HEADER}\nmobile,1111,aaaa,100,\n`),
      Buffer.from([0x50, 0x4b, 3, 4, 1]),
      notWorkbook,
      brokenSheet,
    ]) {
      const error = await refusal(parseAll(chunked(bytes, [100]), 'xlsx'));
      expect([error.code, error.status]).toEqual(['unreadable_xlsx', 400]);
    }
  });

  it('refuses truncated and corrupted workbooks without hanging', async () => {
    const rows = Array.from({ length: 400 }, (_, i) => [
      'mobile',
      String(10_000 + i),
      `s${(i * 7919) % 1000}`,
      '100',
    ]);
    const file = await xlsx([XLSX_HEADER.slice(0, 4), ...rows]);
    const outcomes = new Set<string>();
    for (let k = 1; k < 60; k++) {
      const at = Math.floor((file.length * k) / 60);
      const corrupt = Buffer.from(file);
      for (let i = at; i < Math.min(at + 16, corrupt.length); i++) corrupt[i] = (i * 31) & 0xff;
      for (const bytes of [file.subarray(0, at), corrupt]) {
        const outcome = await parseAll(chunked(bytes, [997]), 'xlsx').then(
          (items) => `read ${items.length}`,
          (e: unknown) => (e instanceof BatchFileError ? e.code : `other ${String(e)}`),
        );
        outcomes.add(outcome.startsWith('read') ? 'read' : outcome);
      }
    }
    // Some damage falls in parts nothing reads (or after the sheet): those still parse.
    expect([...outcomes].sort()).toEqual(['read', 'unreadable_xlsx']);
  });

  it('leaves no spooled sheet behind when it reads to the end or stops early', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ['mobile', String(10_000 + i), 'aaaa', '100']);
    const file = await xlsx([XLSX_HEADER.slice(0, 4), ...rows], { sheets: [[['x']], [['y']]] });
    const before = spooledFiles().length;
    expect(await parseAll(whole(file), 'xlsx', { maxLines: 100 })).toHaveLength(50);
    expect((await refusal(parseAll(whole(file), 'xlsx', { maxLines: 10 }))).code).toBe('too_many_lines');
    const header = await xlsx([['card_number'], ['1111']], { sheets: [[['x']]] });
    expect((await refusal(parseAll(whole(header), 'xlsx'))).code).toBe('missing_column');
    for await (const _ of parseBatchFile(whole(file), { format: 'xlsx', maxLines: 100 })) break;
    // After an early stop exceljs finishes in the background, removing its files as it goes.
    await vi.waitFor(() => expect(spooledFiles().length).toBe(before));
  });

  it('throws an error of the upload itself as it is', async () => {
    const file = await xlsx([XLSX_HEADER, ['mobile', '1111', 'aaaa', '100']]);
    const aborted = new Error('upload aborted');
    const upload = (async function* () {
      yield file.subarray(0, 1000);
      throw aborted;
    })();
    await expect(parseAll(upload, 'xlsx')).rejects.toBe(aborted);
    const textUpload = (async function* () {
      yield text('1111 aaaa\n');
      throw aborted;
    })();
    await expect(parseAll(textUpload, 'text')).rejects.toBe(aborted);
  });

  it('reports no encoding for XLSX', async () => {
    const parser = parseBatchFile(whole(await xlsx([XLSX_HEADER, ['m', '1', '2', '3']])), {
      format: 'xlsx',
      maxLines: 5,
    });
    for await (const _ of parser);
    expect(batchFileEncoding(parser)).toBeUndefined();
  });
});

describe('limits', () => {
  it('takes exactly maxLines lines (problems counted, blank lines not) and refuses one more at once', async () => {
    const lines = '1111 aaaa\n\n2222\n   \n3333 cccc\n';
    expect(await parseAll(text(lines), 'text', { maxLines: 3 })).toHaveLength(3);
    const error = await refusal(parseAll(text(`${lines}4444 dddd\n`), 'text', { maxLines: 3 }));
    expect([error.code, error.status]).toEqual(['too_many_lines', 413]);
    const csv = `${HEADER}\nm,1,a,1,\nm,2,b,1,\n`;
    expect(await parseAll(text(csv), 'csv', { maxLines: 2 })).toHaveLength(2);
    expect((await refusal(parseAll(text(csv), 'csv', { maxLines: 1 }))).code).toBe('too_many_lines');
    const sheet = await xlsx([XLSX_HEADER, ['m', '1', 'a', '1'], ['m', '2', 'b', '1']]);
    expect(await parseAll(whole(sheet), 'xlsx', { maxLines: 2 })).toHaveLength(2);
    expect((await refusal(parseAll(whole(sheet), 'xlsx', { maxLines: 1 }))).code).toBe('too_many_lines');
  });

  it('does not read past line maxLines + 1, and releases the upload', async () => {
    for (const format of ['text', 'csv'] as const) {
      let pulled = 0;
      let released = false;
      const chunk = (format === 'text' ? '1111 aaaa\n' : 'm,1111,aaaa,100,\n').repeat(100);
      const endless = (async function* () {
        try {
          if (format === 'csv') yield text(`${HEADER}\n`);
          for (;;) {
            pulled++;
            yield text(chunk);
          }
        } finally {
          released = true;
        }
      })();
      const error = await refusal(parseAll(endless, format, { maxLines: 250 }));
      expect(error.code).toBe('too_many_lines');
      // 100 lines a chunk: text reads the 3 chunks line 251 needs; CSV goes through csv-parse's
      // stream, whose buffers read ahead up to their high-water marks (16 KiB on Node 20, 64 KiB
      // on 22 and later), not the endless rest.
      if (format === 'text') expect(pulled).toBe(3);
      else expect(pulled * chunk.length).toBeLessThan(2 * getDefaultHighWaterMark(false) + chunk.length);
      // Closing the upload does not hold up the refusal: it follows within a few ticks.
      await vi.waitFor(() => expect(released).toBe(true));
    }
  });

  it('refuses an empty file and one of blank lines', async () => {
    for (const bytes of ['', '\n', ' \r\n\t\n']) {
      const error = await refusal(parseAll(text(bytes), 'text'));
      expect([error.code, error.status]).toEqual(['empty_file', 400]);
    }
  });

  it('refuses options no caller should pass', () => {
    expect(() => parseBatchFile(whole(text('')), { format: 'text', maxLines: -1 })).toThrow(RangeError);
    expect(() => parseBatchFile(whole(text('')), { format: 'pdf' as BatchFormat, maxLines: 1 })).toThrow(
      RangeError,
    );
  });

  it('streams 100,000 text lines in 64 KiB chunks', async () => {
    const body = Array.from(
      { length: 100_000 },
      (_, i) => `${1_000_000_000_000 + i} S${i.toString(36)}`,
    ).join('\n');
    const started = performance.now();
    let count = 0;
    let last = 0;
    for await (const item of parseBatchFile(chunked(text(body), [65_536]), {
      format: 'text',
      maxLines: 100_000,
    })) {
      if (item.kind === 'line') count++;
      last = item.line;
    }
    expect(count).toBe(100_000);
    expect(last).toBe(100_000);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
