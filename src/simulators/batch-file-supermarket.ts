import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { BookCode } from './issuer-book.js';
import {
  createSimulatorBase,
  listen,
  type Rendered,
  type Simulator,
  type SimulatorOptions,
  simulatorHandle,
} from './server.js';

/**
 * Supermarket chain style: no online API, only files over an HTTP file drop (docs/issuers.md).
 * - The issuer publishes a state file of every card: GET /files/states/latest.csv
 *   (`card_no,status,face_value,balance,expire_date,redemption_id`; the name in X-File-Name).
 * - Recard uploads claim files: PUT /files/claims/<name>.csv (`redemption_id,card_no,card_pwd`).
 * - At each publication (every `publishEveryMs`, or POST /__sim/publish) the issuer applies the
 *   claims received since the last one, writes a result file per claim file
 *   (GET /files/claims/<name>.result.csv: `redemption_id,result`) and a new state file. A claim is
 *   confirmed only when a state file shows the card used by that redemption.
 */
export const FILE_STATES: Record<'valid' | 'used' | 'expired' | 'unactivated', string> = {
  valid: 'ACTIVE',
  used: 'USED',
  expired: 'EXPIRED',
  unactivated: 'INACTIVE',
};
export const FILE_RESULTS: Record<BookCode, string> = {
  ok: 'APPLIED',
  not_found: 'CARD_NOT_FOUND',
  wrong_secret: 'PASSWORD_ERROR',
  used: 'CARD_USED',
  expired: 'CARD_EXPIRED',
  unactivated: 'CARD_INACTIVE',
};
export const FILE_AMBIGUOUS = 'LOCKED';
const CLAIM_NAME = /^[A-Za-z0-9_-]{1,100}$/;

export interface BatchFileSimulatorOptions extends SimulatorOptions {
  port?: number;
  /** Publish on a timer; 0 publishes only on POST /__sim/publish. */
  publishEveryMs?: number;
}

interface ClaimFile {
  name: string;
  body: string;
  receivedAt: number;
  result?: string;
}

export async function startBatchFileSimulator(
  options: BatchFileSimulatorOptions,
): Promise<Simulator & { publish(): number }> {
  const base = createSimulatorBase(options);
  const { app, book } = base;
  const claims = new Map<string, ClaimFile>();
  let queue: ClaimFile[] = [];
  let sequence = 0;
  let latest = { name: '', body: '', publishedAt: 0 };
  const csv = (body: string, headers: Record<string, string> = {}): Rendered => ({
    status: 200,
    contentType: 'text/csv; charset=utf-8',
    body,
    headers,
  });

  function publish(): number {
    const now = Date.now();
    for (const file of queue) {
      const rows: string[][] = [];
      let records: string[][] = [];
      try {
        records = parse(file.body, { from_line: 2, relax_column_count: false }) as string[][];
      } catch {
        records = [];
      }
      for (const [redemptionId, cardNo, cardPwd] of records) {
        if (!redemptionId || !cardNo || !cardPwd) continue;
        rows.push([redemptionId, FILE_RESULTS[book.redeem(cardNo, cardPwd, redemptionId).code]]);
      }
      file.result = stringify([['redemption_id', 'result'], ...rows]);
    }
    queue = [];
    sequence++;
    const states: (string | number)[][] = [
      ['card_no', 'status', 'face_value', 'balance', 'expire_date', 'redemption_id'],
    ];
    for (const s of book.states())
      states.push([
        s.card.number,
        FILE_STATES[s.state],
        s.card.faceValue,
        s.balance,
        s.card.expiresOn,
        s.consumedBy ?? '',
      ]);
    latest = {
      name: `states-${String(sequence).padStart(6, '0')}.csv`,
      body: stringify(states),
      publishedAt: now,
    };
    return sequence;
  }
  publish();
  const timer = options.publishEveryMs ? setInterval(publish, options.publishEveryMs) : undefined;
  timer?.unref();

  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  app.post('/__sim/publish', async () => ({ sequence: publish(), name: latest.name }));

  app.get('/files/states/latest.csv', async (req, reply) => {
    if (req.headers['if-none-match'] === `"${latest.name}"`) return reply.code(304).send();
    return base.answer(reply, 'inquire', {
      normal: () => csv(latest.body, { 'x-file-name': latest.name, etag: `"${latest.name}"` }),
      error: () => ({ status: 503, contentType: 'text/plain', body: 'file server busy' }),
      ambiguous: () =>
        csv(latest.body.replace(/,ACTIVE,/g, `,${FILE_AMBIGUOUS},`), {
          'x-file-name': latest.name,
          etag: `"${latest.name}~"`,
        }),
    });
  });
  app.put('/files/claims/:name', async (req, reply) => {
    const raw = (req.params as { name: string }).name;
    const name = raw.endsWith('.csv') ? raw.slice(0, -4) : '';
    const body = typeof req.body === 'string' ? req.body : '';
    if (!CLAIM_NAME.test(name) || !body.startsWith('redemption_id,card_no,card_pwd'))
      return reply.code(400).type('text/plain').send('bad claim file');
    return base.answer(reply, 'redeem', {
      normal: () => {
        const earlier = claims.get(name);
        if (earlier) {
          // Re-uploading the same file is harmless; another file under its name is refused.
          return earlier.body === body
            ? { status: 200, contentType: 'text/plain', body: 'already received' }
            : { status: 409, contentType: 'text/plain', body: 'another file has this name' };
        }
        const file: ClaimFile = { name, body, receivedAt: Date.now() };
        claims.set(name, file);
        queue.push(file);
        return { status: 201, contentType: 'text/plain', body: 'received' };
      },
      error: () => ({ status: 503, contentType: 'text/plain', body: 'file server busy' }),
      ambiguous: () => ({ status: 503, contentType: 'text/plain', body: 'file server busy' }),
    });
  });
  app.get('/files/claims/:name', async (req, reply) => {
    const raw = (req.params as { name: string }).name;
    const isResult = raw.endsWith('.result.csv');
    const name = raw.replace(/(\.result)?\.csv$/, '');
    return base.answer(reply, 'lookup', {
      normal: () => {
        const file = claims.get(name);
        if (!file) return { status: 404, contentType: 'text/plain', body: 'no such file' };
        if (!isResult) return csv(file.body);
        if (file.result === undefined)
          return { status: 404, contentType: 'text/plain', body: 'not processed yet' };
        return csv(file.result);
      },
      error: () => ({ status: 503, contentType: 'text/plain', body: 'file server busy' }),
      ambiguous: () => ({ status: 503, contentType: 'text/plain', body: 'file server busy' }),
    });
  });
  app.addHook('onClose', async () => clearInterval(timer));
  const url = await listen(app, options.port, options.host);
  // Object.assign, not a spread: the handle's `faults` getter must stay live.
  return Object.assign(simulatorHandle(base, 'batch_file', options.issuer, url), { publish });
}
