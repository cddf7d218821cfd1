import { createHash } from 'node:crypto';
import type { Keyring } from '../../shared/crypto.js';
import { seal } from '../../shared/crypto.js';
import { maskFromLast4, normaliseCardField } from '../cards/index.js';
import type { FileFormat } from './model.js';
import type { LineProblem, ParsedLine, TextEncoding } from './parse.js';
import type { NewLine } from './store.js';

/** What a batch file is, as its uploader said (query parameters, or the file drop's file name). */
export interface UploadMeta {
  source: 'api' | 'file_drop';
  merchantBatchId: string;
  fileName: string | null;
  format: FileFormat;
  encoding?: TextEncoding;
  /** Text files: every line's card type and face value. */
  cardType?: string;
  declaredFaceValue?: number;
  sellerId: string;
  /** The SHA-256 (hex) the uploader signed (API); the file drop has none. */
  declaredSha256?: string;
}

/** A whole upload refused: nothing of it is kept. */
export class UploadRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: 400 | 409 | 413,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'UploadRefused';
  }
}

/** Counts and hashes the bytes as they pass, and refuses a file past `maxBytes` at once. */
export function tapUpload(body: AsyncIterable<Buffer>, maxBytes: number) {
  const hash = createHash('sha256');
  let bytes = 0;
  async function* pass(): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      bytes += chunk.length;
      if (bytes > maxBytes)
        throw new UploadRefused('file_too_large', `The file is larger than ${maxBytes} bytes.`, 413, 'file');
      hash.update(chunk);
      yield chunk;
    }
  }
  return {
    stream: pass(),
    /** Once the stream ended: the SHA-256 (hex) and the size of what passed. */
    digest: () => ({ sha256: hash.digest('hex'), bytes }),
  };
}

const MERCHANT_ORDER_ID = /^[\x21-\x7e]{1,64}$/;
const FACE_VALUE = /^[1-9][0-9]{0,8}$/;

/** The line's merchant_order_id when the file gives none: the batch's id and the line number. */
export const lineOrderId = (merchantBatchId: string, line: number) => `${merchantBatchId}#${line}`;

/**
 * Turns parsed lines into rows to stage: the card sealed under the card master key (bound to the
 * batch and line), a masked number for people, and the refusals the file alone shows (a line of the
 * wrong shape, a card or merchant_order_id already on an earlier line of the file).
 */
export class LineStager {
  private readonly cards = new Map<string, number>();
  private readonly orderIds = new Map<string, number>();
  count = 0;

  constructor(
    private readonly batchId: string,
    private readonly meta: UploadMeta,
    private readonly keyring: () => Keyring,
  ) {}

  stage(item: ParsedLine | LineProblem): NewLine {
    this.count++;
    const base: NewLine = {
      batch_id: this.batchId,
      line: item.line,
      status: 'pending',
      card_type: null,
      card_masked: null,
      declared_face_value: null,
      merchant_order_id: null,
      sealed_key_id: null,
      sealed_card: null,
      order_id: null,
      code: null,
      message: null,
      field: null,
    };
    if (item.kind === 'problem')
      return { ...base, status: 'refused', code: item.code, message: item.message };
    const cardType = item.cardType ?? this.meta.cardType ?? null;
    const number = normaliseCardField(item.cardNumber);
    const line: NewLine = {
      ...base,
      card_type: cardType,
      card_masked: `${cardType ?? ''} ${maskFromLast4(number.slice(-4), number.length)}`.trim(),
      merchant_order_id: item.merchantOrderId ?? lineOrderId(this.meta.merchantBatchId, item.line),
    };
    const refuse = (code: string, message: string, field: string | null): NewLine => ({
      ...line,
      status: 'refused',
      code,
      message,
      field,
    });
    const face = item.declaredFaceValue ?? this.meta.declaredFaceValue;
    if (face === undefined || !FACE_VALUE.test(String(face)))
      return refuse(
        'invalid_request',
        'declared_face_value must be a whole number of minor units (fen), 1 to 100000000.',
        'declared_face_value',
      );
    line.declared_face_value = Number(face);
    if (line.declared_face_value > 100_000_000)
      return refuse('invalid_request', 'declared_face_value is above 100000000.', 'declared_face_value');
    if (!cardType) return refuse('invalid_request', 'The line names no card_type.', 'card_type');
    const moid = line.merchant_order_id as string;
    if (!MERCHANT_ORDER_ID.test(moid))
      return refuse(
        'invalid_request',
        'merchant_order_id must be 1 to 64 printable ASCII characters without spaces.',
        'merchant_order_id',
      );
    const earlierId = this.orderIds.get(moid);
    if (earlierId !== undefined)
      return refuse(
        'duplicate_in_file',
        `Line ${item.line} repeats the merchant_order_id of line ${earlierId}.`,
        'merchant_order_id',
      );
    this.orderIds.set(moid, item.line);
    const cardKey = `${cardType}:${number}`;
    const earlierCard = this.cards.get(cardKey);
    if (earlierCard !== undefined)
      return refuse(
        'duplicate_in_file',
        `Line ${item.line} repeats the card of line ${earlierCard}.`,
        'card_number',
      );
    this.cards.set(cardKey, item.line);
    const ring = this.keyring();
    return {
      ...line,
      sealed_key_id: ring.active.id,
      sealed_card: seal(
        ring,
        JSON.stringify({ number: item.cardNumber, secret: item.cardSecret }),
        lineContext(this.batchId, item.line),
      ),
    };
  }
}

/** What a staged card is bound to: opened anywhere else it does not decrypt. */
export const lineContext = (batchId: string, line: number) => `batch:${batchId}:line:${line}:card`;
