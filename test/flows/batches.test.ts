import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeCardTypesTo } from '../../src/main/demo.js';
import type { BatchView } from '../../src/modules/batches/index.js';
import type { SimCard } from '../../src/simulators/card-base.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { reportCells } from '../harness/batch-report.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

/**
 * Batch intake through the server (docs/batches.md): a file uploaded signed over its digest, each
 * line handled like a single order, progress and completion events, the per-line report, and the
 * refusals that leave nothing behind.
 */
describe.each(storageTargets())('batch intake on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  type Channel = Awaited<ReturnType<TestServer['createChannel']>>;
  let ch: Channel;
  const used = new Set<string>();
  let serial = 0;

  /** `n` unused cards of one type and face value with `label`. */
  function cards(cardType: string, label: SimCard['label'], n: number, face?: number): SimCard[] {
    const pool = sims.cards.filter(
      (c) => c.cardType === cardType && c.label === label && !used.has(c.number),
    );
    const byFace = new Map<number, SimCard[]>();
    for (const c of pool) byFace.set(c.faceValue, [...(byFace.get(c.faceValue) ?? []), c]);
    const group =
      face !== undefined
        ? (byFace.get(face) ?? [])
        : [...byFace.values()].sort((a, b) => b.length - a.length)[0];
    if (!group || group.length < n) throw new Error(`not ${n} ${label} ${cardType} cards of one face left`);
    const out = group.slice(0, n);
    for (const c of out) used.add(c.number);
    return out;
  }

  const upload = (params: Record<string, string | number>, file: Buffer, name = 'cards.txt') =>
    ch.client.uploadBatch<BatchView & { error?: { code: string; field?: string } }>(
      { merchant_batch_id: `b-${++serial}`, ...params },
      file,
      name,
    );
  /** Row counts but the nonces: every signed call, refused or not, spends one. */
  const written = async () => {
    const { request_nonces: _, ...rest } = await t.counts();
    return rest;
  };
  const completed = (id: string) =>
    waitFor(
      async () => {
        const b = (await ch.client.get<BatchView>(`/v1/batches/${id}`)).body;
        return b.completed_at ? b : undefined;
      },
      30_000,
      `batch ${id} to complete`,
    );

  beforeAll(async () => {
    sims = await startSimulators({ seed: `batches-${target.name}`, perLabel: { valid: 120, used: 20 } });
    t = await startTestServer(target, { config: { batchMaxLines: 50 } });
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    ch = await t.createChannel({ name: 'Wholesale stock' });
  });
  afterAll(async () => {
    await t.stop();
    await sims.close();
  });

  it('takes a GB18030 text file: each line becomes an order or a refusal, and the report says which', async () => {
    const good = cards('cmcc_national', 'valid', 3);
    const face = good[0]?.faceValue as number;
    const spent = cards('cmcc_national', 'used', 1, face)[0] as SimCard;
    const [a, b, c] = good as [SimCard, SimCard, SimCard];
    const text = [
      `${a.number} ${a.secret}`,
      '',
      `${b.number},${b.secret}`,
      `${spent.number}\t${spent.secret}`,
      'only-one-field',
      `${a.number} ${a.secret}`,
      `${c.number}   ${c.secret}`,
      `12345 ${c.secret}`,
    ].join('\r\n');
    // A Chinese file name and GB18030 bytes, as office software on Chinese Windows writes them.
    const file = iconv.encode(`${text}\r\n`, 'gb18030');
    const res = await upload(
      { format: 'text', card_type: 'cmcc_national', declared_face_value: face },
      file,
      '卡密.txt',
    );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.id).toMatch(/^bat_/);
    expect(res.body.line_count).toBe(7);
    expect(res.body.file_sha256).toBe(createHash('sha256').update(file).digest('hex'));

    const done = await completed(res.body.id);
    expect(done.status).toBe('completed');
    expect(done.counts).toMatchObject({
      read: 7,
      accepted: 4,
      refused: 3,
      pending: 0,
      verifying: 0,
      redeemed: 3,
      invalid: 1,
    });
    expect(done.amounts).toEqual([{ currency: 'CNY', declared: 4 * face, redeemed: 3 * face }]);
    expect(done.report.sha256).toMatch(/^[0-9a-f]{64}$/);

    const report = await ch.client.download(`/v1/batches/${res.body.id}/report`);
    expect(report.status).toBe(200);
    expect(report.headers.get('x-recard-content-sha256')).toBe(
      createHash('sha256').update(report.body).digest('hex'),
    );
    // Nothing moved since completion: the download is the report kept at completion.
    expect(report.headers.get('x-recard-content-sha256')).toBe(done.report.sha256);
    const rows = reportCells(report.body);
    expect(rows[0]).toEqual([
      'line',
      'card_type',
      'card_number_masked',
      'merchant_order_id',
      'order_id',
      'status',
      'reason',
      'declared_face_value',
      'actual_face_value',
      'price',
      'payout',
      'payout_currency',
    ]);
    const byLine = new Map(rows.slice(1).map((r) => [Number(r[0]), r]));
    expect([...byLine.keys()]).toEqual([1, 3, 4, 5, 6, 7, 8]);
    expect(byLine.get(1)?.[5]).toBe('redeemed');
    expect(byLine.get(4)?.[5]).toBe('invalid');
    expect(byLine.get(5)?.slice(5, 7)).toEqual(['refused', 'line_malformed']);
    expect(byLine.get(6)?.slice(5, 7)).toEqual(['refused', 'duplicate_in_file']);
    expect(byLine.get(8)?.slice(5, 7)).toEqual(['refused', 'invalid_card_number']);
    // Masked numbers only: no number or secret of the file is in the report.
    const reportText = report.body.toString('utf8');
    for (const card of [a, b, c, spent]) {
      expect(reportText).not.toContain(card.number);
      expect(reportText).not.toContain(card.secret);
    }
    expect(byLine.get(1)?.[2]).toMatch(/\*+/);

    // The same report as XLSX.
    const xlsx = await ch.client.download(`/v1/batches/${res.body.id}/report?format=xlsx`);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(xlsx.body as unknown as ArrayBuffer);
    const sheet = book.worksheets[0];
    expect(sheet?.rowCount).toBe(8);
    expect(sheet?.getRow(6).getCell(6).value).toBe('refused');

    // Progress and completion went to the channel's events.
    const events = (
      await ch.client.get<{ data: { type: string; subject_id: string }[] }>('/v1/events?limit=200')
    ).body.data.filter((e) => e.subject_id === res.body.id);
    expect(events.map((e) => e.type)).toContain('batch.completed');

    // No secret of the file is left in clear in the staged lines.
    const staged = await t.ctx.storage.db
      .selectFrom('batch_lines')
      .select(['sealed_card'])
      .where('batch_id', '=', res.body.id)
      .execute();
    expect(staged.every((l) => l.sealed_card === null)).toBe(true);
  });

  it('takes CSV with a header, refuses what the orders API would refuse, line by line', async () => {
    const [a, b] = cards('cmcc_national', 'valid', 2) as [SimCard, SimCard];
    const csv = [
      'card_type,card_number,card_secret,declared_face_value,merchant_order_id',
      `cmcc_national,${a.number},${a.secret},${a.declaredFaceValue},csv-a`,
      `cmcc_national,${b.number},${b.secret},12.5,csv-b`,
      `no_such_type,${b.number},${b.secret},${b.declaredFaceValue},csv-c`,
    ].join('\n');
    const res = await upload({ format: 'csv' }, Buffer.from(csv), 'cards.csv');
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const done = await completed(res.body.id);
    expect(done.counts).toMatchObject({ read: 3, accepted: 1, refused: 2, redeemed: 1 });
    const report = (await ch.client.download(`/v1/batches/${res.body.id}/report`)).body.toString('utf8');
    expect(report).toMatch(/\r\n3,.*,refused,invalid_request,/);
    expect(report).toMatch(/\r\n4,no_such_type,.*,refused,unsupported_card_type,/);
    // The line's own merchant_order_id is the order's.
    const order = await ch.client.get<{ data: { merchant_order_id: string }[] }>(
      '/v1/orders?merchant_order_id=csv-a',
    );
    expect(order.body.data).toHaveLength(1);
  });

  it('gives the first batch for the same merchant_batch_id and file, and 409 for another file', async () => {
    const [a] = cards('cmcc_national', 'valid', 1) as [SimCard];
    const file = Buffer.from(`${a.number} ${a.secret}\n`);
    const params = { format: 'text', card_type: 'cmcc_national', declared_face_value: a.declaredFaceValue };
    const first = await ch.client.uploadBatch<BatchView>(
      { merchant_batch_id: 'repeat-me', ...params },
      file,
      'x.txt',
    );
    expect(first.status).toBe(202);
    const again = await ch.client.uploadBatch<BatchView>(
      { merchant_batch_id: 'repeat-me', ...params },
      file,
      'x.txt',
    );
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const other = await ch.client.uploadBatch<{ error: { code: string } }>(
      { merchant_batch_id: 'repeat-me', ...params },
      Buffer.from(`${a.number} ${a.secret}\n\n`),
      'x.txt',
    );
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_conflict');
    await completed(first.body.id);
  });

  it('refuses a whole file that cannot be taken, and keeps nothing of it', async () => {
    const [a] = cards('cmcc_national', 'valid', 1) as [SimCard];
    const before = await written();
    const text = { format: 'text', card_type: 'cmcc_national', declared_face_value: a.declaredFaceValue };
    const tooMany = Array.from({ length: 51 }, (_, i) => `${a.number}${i} ${a.secret}`).join('\n');
    const cases: [Record<string, string | number>, Buffer, number, string][] = [
      [text, Buffer.from(tooMany), 413, 'too_many_lines'],
      [
        { format: 'csv' },
        Buffer.from('card_type,card_number,card_secret,declared_face_value,colour\n'),
        400,
        'unknown_column',
      ],
      [{ format: 'csv' }, Buffer.from('card_type,card_number,card_secret\nx,y,z\n'), 400, 'missing_column'],
      [text, Buffer.from([0x31, 0x20, 0xff, 0xfe, 0x00, 0x0a]), 400, 'undetectable_encoding'],
      [{ format: 'xlsx' }, Buffer.from('not a workbook'), 400, 'unreadable_xlsx'],
      [{ format: 'text' }, Buffer.from(`${a.number} ${a.secret}\n`), 400, 'invalid_request'],
      [
        { ...text, card_type: 'no_such_type' },
        Buffer.from(`${a.number} ${a.secret}\n`),
        400,
        'unsupported_card_type',
      ],
      [text, Buffer.from('\n\n'), 400, 'empty_file'],
    ];
    for (const [params, file, status, code] of cases) {
      const res = await upload(params, file);
      expect(res.status, `${code}: ${JSON.stringify(res.body)}`).toBe(status);
      expect(res.body.error?.code).toBe(code);
    }
    expect(await written()).toEqual(before);
  });

  it('checks the signed digest against the file, and wants the digest header', async () => {
    const [a] = cards('cmcc_national', 'valid', 1) as [SimCard];
    const before = await written();
    const path = `/v1/batches?merchant_batch_id=digest-1&format=text&card_type=cmcc_national&declared_face_value=${a.declaredFaceValue}`;
    const file = Buffer.from(`${a.number} ${a.secret}\n`);
    const lie = createHash('sha256').update('another file').digest('hex');
    const send = async (digest: string | undefined) => {
      const headers = ch.client.headersFor('POST', path, digest ?? '');
      if (digest) headers['x-recard-content-sha256'] = digest;
      const form = new FormData();
      form.append('file', new Blob([file]), 'cards.txt');
      const res = await fetch(new URL(path, t.url), { method: 'POST', headers, body: form });
      return {
        status: res.status,
        body: ((await res.json()) as { error: { code: string; field?: string } }).error,
      };
    };
    const mismatch = await send(lie);
    expect(mismatch.status).toBe(400);
    expect(mismatch.body).toMatchObject({
      code: 'content_digest_mismatch',
      field: 'X-Recard-Content-SHA256',
    });
    const missing = await send(undefined);
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ code: 'invalid_request', field: 'X-Recard-Content-SHA256' });
    // Signed over another digest than the one sent: the signature fails.
    const headers = ch.client.headersFor('POST', path, lie);
    headers['x-recard-content-sha256'] = createHash('sha256').update(file).digest('hex');
    const form = new FormData();
    form.append('file', new Blob([file]), 'cards.txt');
    const forged = await fetch(new URL(path, t.url), { method: 'POST', headers, body: form });
    expect(forged.status).toBe(401);
    expect(await written()).toEqual(before);
  });

  it("takes a file's lines one after another: the daily cap stops at its count, and every order has its event and job", async () => {
    const capped = await t.createChannel({ name: 'Capped stock', limits: { daily_order_cap: 3 } });
    const some = cards('cmcc_national', 'valid', 5);
    const face = some[0]?.faceValue as number;
    const res = await capped.client.uploadBatch<BatchView>(
      {
        merchant_batch_id: `b-${++serial}`,
        format: 'text',
        card_type: 'cmcc_national',
        declared_face_value: face,
      },
      Buffer.from(some.map((c) => `${c.number} ${c.secret}`).join('\n')),
      'cards.txt',
    );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const done = await waitFor(
      async () => {
        const b = (await capped.client.get<BatchView>(`/v1/batches/${res.body.id}`)).body;
        return b.completed_at ? b : undefined;
      },
      30_000,
      'capped batch to complete',
    );
    expect(done.counts).toMatchObject({ read: 5, accepted: 3, refused: 2, redeemed: 3 });
    const report = reportCells(
      (await capped.client.download(`/v1/batches/${res.body.id}/report`)).body,
    ).slice(1);
    // In line order: the first three are taken, the two after the cap are refused.
    expect(report.map((r) => [r[0], r[5], r[6]])).toEqual([
      ['1', 'redeemed', ''],
      ['2', 'redeemed', ''],
      ['3', 'redeemed', ''],
      ['4', 'refused', 'daily_limit_reached'],
      ['5', 'refused', 'daily_limit_reached'],
    ]);
    // Written together, each order still has its first history row, its event and its verify job.
    const ids = report.slice(0, 3).map((r) => r[4] as string);
    const db = t.ctx.storage.db;
    const submittedEvents = await db
      .selectFrom('events')
      .select('subject_id')
      .where('type', '=', 'order.submitted')
      .where('subject_id', 'in', ids)
      .execute();
    expect(submittedEvents.map((e) => e.subject_id).sort()).toEqual([...ids].sort());
    const history = await db
      .selectFrom('order_events')
      .select('order_id')
      .where('event', '=', 'submit')
      .where('order_id', 'in', ids)
      .execute();
    expect(history).toHaveLength(3);
    const jobs = await db
      .selectFrom('jobs')
      .select('payload')
      .where('kind', '=', 'orders.verify_batch')
      .execute();
    for (const id of ids) expect(jobs.filter((j) => j.payload.includes(id))).toHaveLength(1);
  });

  it('cancels the lines not yet verified', async () => {
    const some = cards('cmcc_national', 'valid', 12);
    const face = some[0]?.faceValue as number;
    const file = Buffer.from(some.map((c) => `${c.number} ${c.secret}`).join('\n'));
    const res = await upload({ format: 'text', card_type: 'cmcc_national', declared_face_value: face }, file);
    expect(res.status).toBe(202);
    const cancelled = await ch.client.delete<BatchView>(`/v1/batches/${res.body.id}`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const done = await completed(res.body.id);
    expect(done.status).toBe('cancelled');
    // Every line has one outcome: cancelled before verification, or verified before the cancel.
    expect(done.counts.cancelled + done.counts.redeemed).toBe(12);
    expect(done.counts.pending + done.counts.verifying).toBe(0);
    const again = await ch.client.delete<{ error: { code: string } }>(`/v1/batches/${res.body.id}`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('batch_not_cancellable');
  });

  it('shows a channel only its own batches', async () => {
    const other = await t.createChannel({ name: 'Someone else' });
    const [a] = cards('cmcc_national', 'valid', 1) as [SimCard];
    const res = await upload(
      { format: 'text', card_type: 'cmcc_national', declared_face_value: a.declaredFaceValue },
      Buffer.from(`${a.number} ${a.secret}\n`),
    );
    expect((await other.client.get(`/v1/batches/${res.body.id}`)).status).toBe(404);
    expect((await other.client.download(`/v1/batches/${res.body.id}/report`)).status).toBe(404);
    expect((await other.client.delete(`/v1/batches/${res.body.id}`)).status).toBe(404);
    await completed(res.body.id);
  });

  it.runIf(target.name === 'sqlite')('leaves no card secret in clear in the database files', async () => {
    const dir = t.location.url.replace(/^sqlite:/, '').replace(/[^/]+$/, '');
    const secrets = sims.cards.filter((c) => used.has(c.number)).map((c) => c.secret);
    const files = readdirSync(dir).filter((f) => f.startsWith('recard.db'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const bytes = readFileSync(join(dir, f)).toString('latin1');
      for (const s of secrets) expect(bytes.includes(s), `${s} in ${f}`).toBe(false);
    }
  });
});
