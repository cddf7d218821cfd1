import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { FILE_NAME, OUTGOING_HEADER, RETURN_HEADER } from '../adapters/payouts/bank-file/format.js';
import {
  createPayoutSimBase,
  listenPayoutSim,
  type PayoutRendering,
  type PayoutSimulator,
  type PayoutSimulatorOptions,
  payoutSimHandle,
} from './payout-base.js';
import type { Rendered } from './server.js';

/**
 * A bank's batch payments over an HTTP file drop (docs/payouts.md#bank-file):
 * - PUT /files/outgoing/<name>.csv: an outgoing file (same name and content again → 200; other
 *   content → 409); the receipt names the file and its SHA-256.
 * - At each processing run (every `publishEveryMs`, or POST /__sim/publish) the bank pays the lines
 *   received since the last run and publishes GET /files/returns/<name>.csv. A reference it has
 *   already decided is not paid again: its line repeats the first decision, reason DUPLICATE_REFERENCE.
 */
export const BANK_REJECTIONS = {
  invalidCard: 'INVALID_CARD',
  closed: 'ACCOUNT_CLOSED',
  currency: 'CURRENCY_NOT_SUPPORTED',
  amount: 'INVALID_AMOUNT',
  duplicate: 'DUPLICATE_REFERENCE',
} as const;

export function luhnValid(digits: string): boolean {
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}
/** `prefix` + the Luhn check digit: a card number the bank's format check accepts. */
export function withCheckDigit(prefix: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(`${prefix}${d}`)) return `${prefix}${d}`;
  throw new Error('unreachable');
}
/** Well-formed cards this simulated bank reports closed (REJECTED, ACCOUNT_CLOSED). */
export const BANK_CLOSED_CARDS = [withCheckDigit('622202000000000000')];

export interface BankSimulatorOptions extends PayoutSimulatorOptions {
  /** Process on a timer; 0 (default) processes only on POST /__sim/publish. */
  publishEveryMs?: number;
  closedCards?: string[];
}

export interface BankSimulator extends PayoutSimulator {
  /** Runs processing now; the number of files processed. */
  publish(): number;
}

interface Decision {
  status: 'PAID' | 'REJECTED';
  bankRef: string;
  reason: string;
}
interface OutgoingFile {
  name: string;
  body: string;
  lines: string[][];
  returned?: string;
}

export async function startBankSimulator(options: BankSimulatorOptions = {}): Promise<BankSimulator> {
  const base = createPayoutSimBase(options);
  const { app, ledger } = base;
  const closed = new Set(options.closedCards ?? BANK_CLOSED_CARDS);
  const files = new Map<string, OutgoingFile>();
  const decided = new Map<string, Decision>();
  let queue: OutgoingFile[] = [];
  let sequence = 0;
  const text = (status: number, body: string): Rendered => ({ status, contentType: 'text/plain', body });
  const rendering = (normal: () => Rendered): PayoutRendering => ({
    normal,
    error: () => text(503, 'file server busy'),
    ambiguous: () => text(503, 'file server busy'),
  });

  function decide(line: string[]): Decision {
    const [reference, card = '', holder = '', amount = '', currency = ''] = line;
    const bankRef = `BK${String(++sequence).padStart(12, '0')}`;
    const reject = (reason: string): Decision => ({ status: 'REJECTED', bankRef, reason });
    if (!luhnValid(card)) return reject(BANK_REJECTIONS.invalidCard);
    if (closed.has(card)) return reject(BANK_REJECTIONS.closed);
    if (currency !== 'CNY') return reject(BANK_REJECTIONS.currency);
    if (!/^[1-9]\d{0,14}$/.test(amount) || !holder) return reject(BANK_REJECTIONS.amount);
    ledger.pay({
      payoutId: reference as string,
      amount: Number(amount),
      currency,
      account: card,
      providerRef: bankRef,
    });
    return { status: 'PAID', bankRef, reason: '' };
  }

  function publish(): number {
    const batch = queue;
    queue = [];
    for (const file of batch) {
      const rows: string[][] = [[...RETURN_HEADER]];
      for (const line of file.lines) {
        const reference = line[0] as string;
        const earlier = decided.get(reference);
        // Dedupe by reference: the first decision stands and nothing is paid again.
        const d = earlier ? { ...earlier, reason: BANK_REJECTIONS.duplicate } : decide(line);
        if (!earlier) decided.set(reference, d);
        rows.push([reference, d.status, d.bankRef, d.reason]);
      }
      file.returned = stringify(rows);
    }
    return batch.length;
  }
  const timer = options.publishEveryMs ? setInterval(publish, options.publishEveryMs) : undefined;
  timer?.unref();

  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  app.post('/__sim/publish', async () => ({ processed: publish() }));

  const fileName = (raw: string) =>
    raw.endsWith('.csv') && FILE_NAME.test(raw.slice(0, -4)) ? raw.slice(0, -4) : '';

  app.put('/files/outgoing/:name', async (req, reply) => {
    const name = fileName((req.params as { name: string }).name);
    const body = typeof req.body === 'string' ? req.body : '';
    let rows: string[][] = [];
    try {
      rows = parse(body, { relax_column_count: false, skip_empty_lines: true }) as string[][];
    } catch {
      rows = [];
    }
    const [head, ...lines] = rows;
    if (!name || head?.join(',') !== OUTGOING_HEADER.join(',') || lines.length === 0)
      return reply.code(400).type('text/plain').send('bad outgoing file');
    if (lines.some((l) => l.length !== OUTGOING_HEADER.length || !l[0]))
      return reply.code(400).type('text/plain').send('bad line');
    for (const l of lines) ledger.called(l[0] as string);
    const receipt = (status: number, extra: Record<string, unknown> = {}): Rendered => ({
      status,
      contentType: 'application/json',
      body: JSON.stringify({
        file: `${name}.csv`,
        lines: lines.length,
        sha256: createHash('sha256').update(body).digest('hex'),
        ...extra,
      }),
    });
    return base.answer(
      reply,
      'pay',
      rendering(() => {
        const earlier = files.get(name);
        if (earlier)
          return earlier.body === body
            ? receipt(200, { duplicate: true })
            : text(409, 'another file has this name');
        const file: OutgoingFile = { name, body, lines };
        files.set(name, file);
        queue.push(file);
        return receipt(201);
      }),
    );
  });
  app.get('/files/outgoing/:name', async (req, reply) => {
    const name = fileName((req.params as { name: string }).name);
    return base.answer(
      reply,
      'lookup',
      rendering(() => {
        const file = files.get(name);
        return file ? { status: 200, contentType: 'text/csv', body: file.body } : text(404, 'no such file');
      }),
    );
  });
  app.get('/files/returns/:name', async (req, reply) => {
    const name = fileName((req.params as { name: string }).name);
    return base.answer(
      reply,
      'lookup',
      rendering(() => {
        const returned = files.get(name)?.returned;
        return returned
          ? { status: 200, contentType: 'text/csv', body: returned }
          : text(404, 'not returned yet');
      }),
    );
  });
  app.addHook('onClose', async () => clearInterval(timer));

  const url = await listenPayoutSim(base, options);
  return Object.assign(payoutSimHandle(base, 'bank_file', url), { publish });
}
