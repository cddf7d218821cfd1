import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeCardTypesTo } from '../../src/main/demo.js';
import type { OrderView } from '../../src/modules/orders/index.js';
import { DEFAULT_PARAMS } from '../../src/modules/risk/model.js';
import type { SimCard } from '../../src/simulators/card-base.js';
import { NO_FAULTS } from '../../src/simulators/faults.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { type SmsSimulator, startSmsSimulator } from '../../src/simulators/sms-gateway.js';
import { reportCells } from '../harness/batch-report.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { cardTaker, settledOrder } from '../harness/sim-orders.js';
import { storageTargets } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

/**
 * The risk engine through the server (docs/risk.md): each rule decides an order at intake or after
 * the issuer answers, what fired is recorded on the order, serious cases file a report, rules are
 * data changed through the audited admin API, and a rule in shadow mode changes nothing.
 * The rules' exact thresholds are tested pure in src/modules/risk/rules.test.ts.
 */
const BEIJING = '220.181.38.148';
const BEIJING_2 = '202.106.0.20';
const GUANGZHOU = '113.108.81.189';

describe.each(storageTargets())('risk engine on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  const take = cardTaker(() => sims);
  let serial = 0;
  type Channel = Awaited<ReturnType<TestServer['createChannel']>>;
  let ch: Channel;

  const submit = async (card: SimCard, extra: Record<string, unknown> = {}, secret = card.secret) =>
    ch.client.post<OrderView>('/v1/orders', {
      merchant_order_id: `risk-${++serial}`,
      card_type: card.cardType,
      card_number: card.number,
      card_secret: secret,
      declared_face_value: card.declaredFaceValue,
      seller: { id: 'seller-1' },
      ...extra,
    });
  const fired = async (orderId: string) =>
    (
      (await t.admin('GET', `/admin/v1/risk/orders/${orderId}/assessments`)).body as {
        data: {
          stage: string;
          decision: string;
          fired: { rule: string; shadow: boolean; reasons: string[] }[];
        }[];
      }
    ).data;
  const setRule = async (id: string, body: Record<string, unknown>) => {
    const res = await t.admin('PUT', `/admin/v1/risk/rules/${id}`, body);
    expect(res.status, res.text).toBe(200);
    return res.body as { version: number; params: unknown; mode: string };
  };
  const blacklistCard = async (card: SimCard, reason: string) => {
    const added = await t.admin('POST', '/admin/v1/risk/blacklist', {
      kind: 'card',
      card_type: card.cardType,
      card_number: card.number,
      reason,
    });
    expect(added.status, added.text).toBe(201);
    return added;
  };
  const wrongSecret = (card: SimCard) =>
    `${card.secret.slice(0, -1)}${card.secret.endsWith('1') ? '2' : '1'}`;

  let sms: SmsSimulator;

  beforeAll(async () => {
    sims = await startSimulators({ seed: `risk-${target.name}`, perLabel: { valid: 40 } });
    sms = await startSmsSimulator();
    t = await startTestServer(target, {
      config: {
        risk: 'on',
        smsUrl: sms.adapterConfig.url,
        smsKeyId: sms.adapterConfig.keyId,
        smsKey: sms.adapterConfig.secret,
      },
    });
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    ch = await t.createChannel({ name: 'Risky shop' });
  });
  afterAll(async () => {
    await t.stop();
    await sims.close();
    await sms.close();
  });

  it('card testing: the third check of one number within the window freezes it; the lockout then refuses the next', async () => {
    const card = take('cmcc_national', 'valid');
    for (let i = 1; i <= 2; i++) {
      const res = await submit(card, { seller: { id: 'tester' } }, wrongSecret(card));
      expect(res.status).toBe(201);
      expect((await settledOrder(ch.client, res.body.id)).status).toBe('invalid');
    }
    const third = await submit(card, { seller: { id: 'tester' } }, wrongSecret(card));
    expect(third.status).toBe(201);
    expect(third.body).toMatchObject({ status: 'frozen', reason: 'risk_frozen' });
    const a = await fired(third.body.id);
    expect(a[0]).toMatchObject({ stage: 'intake', decision: 'freeze' });
    expect(a[0]?.fired.map((f) => f.rule)).toContain('card_testing');
    // One counter: the lockout the third try set refuses the fourth.
    const fourth = await submit(card, { seller: { id: 'tester' } });
    expect(fourth.status).toBe(422);
    expect(fourth.body).toMatchObject({ error: { code: 'card_locked' } });
  });

  it('velocity: at the limit passes, one past it goes to review and into the queue; approved, the card is redeemed', async () => {
    const before = await setRule('velocity', {
      params: { ...DEFAULT_PARAMS.velocity, hour: { orders: 2, amount: 100_000_000 } },
    });
    try {
      const seller = { id: 'fast-seller' };
      for (let i = 0; i < 2; i++) {
        const ok = await submit(take('cmcc_national', 'valid'), { seller });
        expect(ok.body.status).toBe('submitted');
      }
      const held = await submit(take('cmcc_national', 'valid'), { seller });
      expect(held.body).toMatchObject({ status: 'review', reason: 'risk_review' });
      const a = await fired(held.body.id);
      expect(a[0]?.fired).toContainEqual(expect.objectContaining({ rule: 'velocity', shadow: false }));

      // The review queue has it, with the rules in its evidence; a reviewer approves and it goes on.
      const reviewer = await t.adminSession('reviewer');
      const c = await waitFor(async () => {
        const list = (await t.admin('GET', '/admin/v1/reviews?limit=100', undefined, reviewer.token))
          .body as {
          data: { id: string; order_id: string }[];
        };
        return list.data.find((r) => r.order_id === held.body.id);
      }, 10_000);
      const evidence = (await t.admin('GET', `/admin/v1/reviews/${c.id}`, undefined, reviewer.token)).body;
      expect(JSON.stringify(evidence)).toContain('velocity');
      expect((await t.admin('POST', `/admin/v1/reviews/${c.id}/claim`, {}, reviewer.token)).status).toBe(200);
      const decided = await t.admin(
        'POST',
        `/admin/v1/reviews/${c.id}/decision`,
        { decision: 'approve', comment: 'known merchant, busy day' },
        reviewer.token,
      );
      expect(decided.status, decided.text).toBe(200);
      expect((await settledOrder(ch.client, held.body.id, 'redeemed')).actual_face_value).toBeGreaterThan(0);

      // Shadow mode: the same rule is recorded, not enforced.
      const shadow = await setRule('velocity', { mode: 'shadow', version: before.version });
      expect(shadow.mode).toBe('shadow');
      const passed = await submit(take('cmcc_national', 'valid'), { seller });
      expect(passed.body.status).toBe('submitted');
      expect((await fired(passed.body.id))[0]).toMatchObject({
        decision: 'allow',
        fired: [expect.objectContaining({ rule: 'velocity', shadow: true })],
      });
      // Every change is on the audit log, with before and after.
      const log = (await t.admin('GET', '/admin/v1/audit-log?operation_id=adminPutRiskRule&limit=10'))
        .body as {
        data: { before: { mode: string } | null; after: { mode: string } | null }[];
      };
      expect(log.data.some((e) => e.before?.mode === 'enforce' && e.after?.mode === 'shadow')).toBe(true);
    } finally {
      await setRule('velocity', { mode: 'enforce', params: DEFAULT_PARAMS.velocity });
    }
  });

  it("velocity neither counts nor judges a batch file's lines; the seller's single orders still meet it", async () => {
    await setRule('velocity', {
      params: { ...DEFAULT_PARAMS.velocity, hour: { orders: 2, amount: 100_000_000 } },
    });
    try {
      const seller = 'file-seller';
      const file = [1, 2, 3, 4].map(() => take('cmcc_national', 'valid'));
      const csv = [
        'card_type,card_number,card_secret,declared_face_value',
        ...file.map((c) => `${c.cardType},${c.number},${c.secret},${c.declaredFaceValue}`),
      ];
      const up = await ch.client.uploadBatch<{ id: string }>(
        { merchant_batch_id: `risk-file-${++serial}`, format: 'csv', seller_id: seller },
        Buffer.from(csv.join('\n')),
        'cards.csv',
      );
      expect(up.status, JSON.stringify(up.body)).toBe(202);
      const done = await waitFor(async () => {
        const b = (
          await ch.client.get<{ completed_at: string | null; counts: Record<string, number> }>(
            `/v1/batches/${up.body.id}`,
          )
        ).body;
        return b.completed_at ? b : undefined;
      }, 20_000);
      // More lines than the hour's limit of two, none held.
      expect(done.counts).toMatchObject({ accepted: file.length, redeemed: file.length, review: 0 });
      // The file was not counted: the seller's first two single orders pass, the third is held.
      for (let i = 0; i < 2; i++)
        expect((await submit(take('cmcc_national', 'valid'), { seller: { id: seller } })).body.status).toBe(
          'submitted',
        );
      const held = await submit(take('cmcc_national', 'valid'), { seller: { id: seller } });
      expect(held.body).toMatchObject({ status: 'review', reason: 'risk_review' });
    } finally {
      await setRule('velocity', { mode: 'enforce', params: DEFAULT_PARAMS.velocity });
    }
  });

  it("a file's lines are checked together as single orders are, each with its own card's history", async () => {
    const seller = { id: 'slice-seller' };
    // Tries refused for the secret's format still count, and leave no order holding the card.
    const badTry = async (card: SimCard) =>
      expect((await submit(card, { seller }, 'x')).body).toMatchObject({
        error: { code: 'invalid_card_secret' },
      });
    // One card checked twice before: its third check is in the file and freezes it (card testing).
    const tried = take('cmcc_national', 'valid');
    for (let i = 0; i < 2; i++) await badTry(tried);
    // One card checked three times: locked, the file's line is refused.
    const locked = take('cmcc_national', 'valid');
    for (let i = 0; i < 3; i++) await badTry(locked);
    // One card blacklisted: rejected and reported.
    const banned = take('cmcc_national', 'valid');
    await blacklistCard(banned, 'stolen');
    const clean = [take('cmcc_national', 'valid'), take('cmcc_national', 'valid')];
    const lines = [clean[0], tried, locked, banned, clean[1]] as SimCard[];
    const up = await ch.client.uploadBatch<{ id: string }>(
      { merchant_batch_id: `slice-${++serial}`, format: 'csv', seller_id: seller.id },
      Buffer.from(
        [
          'card_type,card_number,card_secret,declared_face_value',
          ...lines.map((c) => `${c.cardType},${c.number},${c.secret},${c.declaredFaceValue}`),
        ].join('\n'),
      ),
      'cards.csv',
    );
    expect(up.status, JSON.stringify(up.body)).toBe(202);
    await waitFor(async () => {
      const b = (await ch.client.get<{ counts: Record<string, number> }>(`/v1/batches/${up.body.id}`)).body;
      return b.counts.pending === 0 ? b : undefined;
    }, 20_000);
    const report = reportCells((await ch.client.download(`/v1/batches/${up.body.id}/report`)).body).slice(1);
    const statusOf = (line: number) => {
      const r = report[line - 1] as string[];
      return r[5] === 'refused' ? r[6] : (r[5] ?? '');
    };
    expect(statusOf(2)).toBe('frozen');
    expect(statusOf(3)).toBe('card_locked');
    expect(statusOf(4)).toBe('rejected');
    for (const line of [1, 5])
      expect(['submitted', 'verifying', 'redeemed', 'settled']).toContain(statusOf(line));
    const frozenId = (report[1] as string[])[4] as string;
    expect((await fired(frozenId))[0]?.fired.map((f) => f.rule)).toContain('card_testing');
    const bannedId = (report[3] as string[])[4] as string;
    expect((await fired(bannedId))[0]?.fired.map((f) => f.rule)).toContain('blacklist');
    // The frozen card's third check locked it, as a single order's would: a fourth is refused.
    expect((await submit(tried, { seller })).body).toMatchObject({ error: { code: 'card_locked' } });
  });

  it("a file's lines are judged against the amount statistics but do not move them", async () => {
    await setRule('amount_anomaly', {
      params: { ...DEFAULT_PARAMS.amount_anomaly, min_samples: 5, common_share: 0 },
    });
    // China Mobile's format, not in the simulators' base: the issuer's answer does not matter here.
    const number = () => `${String(++serial).padStart(6, '0')}${target.name.length}${'0'.repeat(10)}`;
    const single = (shop: Channel, faceValue: number) =>
      shop.client.post<OrderView>('/v1/orders', {
        merchant_order_id: `amount-${++serial}`,
        card_type: 'cmcc_national',
        card_number: number(),
        card_secret: '123456789012345678',
        declared_face_value: faceValue,
        seller: { id: `amount-seller-${serial}` },
      });
    const file = async (shop: Channel, faceValues: number[]) => {
      const csv = [
        'card_type,card_number,card_secret,declared_face_value',
        ...faceValues.map((v) => `cmcc_national,${number()},123456789012345678,${v}`),
      ];
      const up = await shop.client.uploadBatch<{ id: string }>(
        { merchant_batch_id: `amount-file-${++serial}`, format: 'csv', seller_id: `file-seller-${serial}` },
        Buffer.from(csv.join('\n')),
        'cards.csv',
      );
      expect(up.status, JSON.stringify(up.body)).toBe(202);
      return waitFor(async () => {
        const b = (await shop.client.get<{ counts: Record<string, number> }>(`/v1/batches/${up.body.id}`))
          .body;
        return b.counts.pending === 0 ? b : undefined;
      }, 20_000);
    };
    try {
      // A file of one value first: had its lines been learned, every other value would be 3σ away.
      const a = await t.createChannel({ name: 'File first shop' });
      expect((await file(a, Array(8).fill(10_000))).counts).toMatchObject({ accepted: 8, review: 0 });
      expect((await single(a, 5_000)).body.status).toBe('submitted');

      // Single orders make the habit; a line of another value is held, as a single order would be.
      const b = await t.createChannel({ name: 'Singles first shop' });
      for (let i = 0; i < 6; i++) expect((await single(b, 10_000)).body.status).toBe('submitted');
      expect((await file(b, [10_000, 5_000])).counts).toMatchObject({ accepted: 2, review: 1 });
      expect((await single(b, 5_000)).body).toMatchObject({ status: 'review', reason: 'risk_review' });
    } finally {
      await setRule('amount_anomaly', { params: DEFAULT_PARAMS.amount_anomaly });
    }
  });

  it('a stale version or a threshold out of range is refused and changes nothing', async () => {
    const bad = await t.admin('PUT', '/admin/v1/risk/rules/geo_jump', {
      params: { km: 0, window_ms: 60_000 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'invalid_request', field: 'body.params.km' } });
    const stale = await t.admin('PUT', '/admin/v1/risk/rules/geo_jump', { enabled: false, version: 999 });
    expect(stale.status).toBe(409);
    const unknown = await t.admin('PUT', '/admin/v1/risk/rules/no_such_rule', { enabled: false });
    expect(unknown.status).toBe(404);
    const rules = (await t.admin('GET', '/admin/v1/risk/rules')).body as {
      data: { id: string; enabled: boolean }[];
    };
    expect(rules.data.find((r) => r.id === 'geo_jump')?.enabled).toBe(true);
  });

  it('a blacklisted card is rejected and reported; the report exports as JSON and CSV, each export audited', async () => {
    const card = take('cmcc_national', 'valid');
    const added = await blacklistCard(card, 'reported by the issuer');
    expect(JSON.stringify(added.body)).not.toContain(card.number);
    const res = await submit(card, { seller: { id: 'fence' } });
    expect(res.body).toMatchObject({ status: 'rejected', reason: 'risk_rejected' });

    const finance = await t.adminSession('finance');
    const json = await t.admin(
      'GET',
      '/admin/v1/risk/reports?kind=blacklisted_card',
      undefined,
      finance.token,
    );
    expect(json.status).toBe(200);
    const report = (json.body as { data: { order_id: string; evidence: unknown }[] }).data.find(
      (r) => r.order_id === res.body.id,
    );
    expect(report).toBeDefined();
    expect(JSON.stringify(report)).not.toContain(card.number);
    expect(JSON.stringify(report)).not.toContain(card.secret);
    const csv = await t.admin('GET', '/admin/v1/risk/reports.csv', undefined, finance.token);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    // (fetch's text() drops the byte-order mark a spreadsheet reads; the header follows it.)
    expect(csv.text).toMatch(
      /^\uFEFF?id,created_at,kind,order_id,channel_id,seller_id,amount,currency,rules,reasons\r?\n/,
    );
    expect(csv.text).toContain(res.body.id);
    // A reviewer may not export.
    const reviewer = await t.adminSession('reviewer');
    expect((await t.admin('GET', '/admin/v1/risk/reports.csv', undefined, reviewer.token)).status).toBe(403);
    const log = (await t.admin('GET', '/admin/v1/audit-log?operation_id=adminExportRiskReportsCsv&limit=10'))
      .body as { data: { actor: { name: string }; status: number }[] };
    expect(log.data.some((e) => e.actor.name === finance.username && e.status === 200)).toBe(true);
    // The card number given to the blacklist is not in the audit log.
    const adds = await t.admin('GET', '/admin/v1/audit-log?operation_id=adminAddToBlacklist&limit=10');
    expect(adds.text).not.toContain(card.number);
  });

  it('geo jump: a seller whose IP moves more than 500 km goes to review; within a city it passes', async () => {
    const a = await submit(take('cmcc_national', 'valid'), {
      seller: { id: 'traveller' },
      client_ip: BEIJING,
    });
    expect(a.body.status).toBe('submitted');
    const near = await submit(take('cmcc_national', 'valid'), {
      seller: { id: 'traveller' },
      client_ip: BEIJING_2,
    });
    expect(near.body.status).toBe('submitted');
    const phone = '+8613912345678';
    const far = await submit(take('cmcc_national', 'valid'), {
      seller: { id: 'traveller', phone },
      client_ip: GUANGZHOU,
    });
    expect(far.body).toMatchObject({ status: 'review', reason: 'risk_review' });
    const f = (await fired(far.body.id))[0]?.fired.find((x) => x.rule === 'geo_jump');
    expect(f?.reasons[0]).toMatch(/moved \d+ km/);
    expect(JSON.stringify(far.body)).not.toContain(phone);

    // A step-up code went to the seller's phone through the SMS gateway; the channel relays it.
    const code = await waitFor(async () => sms.lastCode(phone) ?? undefined, 10_000, 'the step-up SMS');
    const wrong = await ch.client.post(`/v1/orders/${far.body.id}/step-up`, {
      code: code === '000000' ? '000001' : '000000',
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body).toMatchObject({ error: { code: 'step_up_code_invalid', field: 'code' } });
    const right = await ch.client.post(`/v1/orders/${far.body.id}/step-up`, { code });
    expect(right.status).toBe(200);
    expect(right.body).toMatchObject({ status: 'verified', phone_last4: '5678', attempts: 2 });
    // Another channel cannot answer for it.
    const other = await t.createChannel({ name: 'Other shop' });
    expect((await other.client.post(`/v1/orders/${far.body.id}/step-up`, { code })).status).toBe(404);
    // The reviewer sees it in the case's evidence; the phone never appears whole.
    const reviewer = await t.adminSession('reviewer');
    const c = await waitFor(async () => {
      const list = (await t.admin('GET', '/admin/v1/reviews?limit=100', undefined, reviewer.token)).body as {
        data: { id: string; order_id: string }[];
      };
      return list.data.find((r) => r.order_id === far.body.id);
    }, 10_000);
    const evidence = await t.admin('GET', `/admin/v1/reviews/${c.id}`, undefined, reviewer.token);
    expect(evidence.text).toContain('"verified"');
    expect(evidence.text).not.toContain(phone);
    expect(t.logs.join('\n')).not.toContain(code);
  });

  it('device mismatch: a seller on a device never seen with them goes to review, not on their first', async () => {
    const first = await submit(take('cmcc_national', 'valid'), {
      seller: { id: 'phone-owner' },
      device_id: 'dev-aaaa1111',
    });
    expect(first.body.status).toBe('submitted');
    const same = await submit(take('cmcc_national', 'valid'), {
      seller: { id: 'phone-owner' },
      device_id: 'dev-aaaa1111',
    });
    expect(same.body.status).toBe('submitted');
    const other = await submit(take('cmcc_national', 'valid'), {
      seller: { id: 'phone-owner' },
      device_id: 'dev-bbbb2222',
    });
    expect(other.body).toMatchObject({ status: 'review' });
    expect((await fired(other.body.id))[0]?.fired.map((x) => x.rule)).toContain('device_mismatch');
  });

  it('new account, high value: a young account handing in more than the limit goes to review', async () => {
    const card = take('cmcc_national', 'valid');
    await setRule('new_account_high_value', {
      params: { max_age_days: 7, amount: card.declaredFaceValue - 1 },
    });
    try {
      const young = new Date(Date.now() - 86_400_000).toISOString();
      const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
      const held = await submit(card, { seller: { id: 'newbie' }, user_id: 'u1', user_registered_at: young });
      expect(held.body.status).toBe('review');
      const veteran = await submit(take('cmcc_national', 'valid'), {
        seller: { id: 'veteran' },
        user_id: 'u2',
        user_registered_at: old,
      });
      expect(veteran.body.status).toBe('submitted');
    } finally {
      await setRule('new_account_high_value', { params: DEFAULT_PARAMS.new_account_high_value });
    }
  });

  it('a card the issuer reports stolen is frozen after the inquiry, never redeemed, and reported', async () => {
    const put = await t.admin('PUT', '/admin/v1/issuer-codes/china_mobile/9003', {
      reason: 'card_reported_stolen',
      description: 'card reported lost or stolen',
    });
    expect(put.status, put.text).toBe(200);
    const sim = sims.byIssuer.get('china_mobile');
    if (!sim) throw new Error('no china_mobile simulator');
    sim.setFaults({ ambiguousRate: 1, operations: ['inquire'] });
    try {
      const card = take('cmcc_national', 'valid');
      const res = await submit(card, { seller: { id: 'fence-2' } });
      const o = await settledOrder(ch.client, res.body.id);
      expect(o).toMatchObject({ status: 'frozen', reason: 'risk_frozen', raw_code: '9003' });
      const a = await fired(o.id);
      expect(a.find((x) => x.stage === 'issuer')?.fired.map((f) => f.rule)).toEqual(['stolen_card']);
      const reports = (await t.admin('GET', '/admin/v1/risk/reports?kind=stolen_card')).body as {
        data: { order_id: string }[];
      };
      expect(reports.data.some((r) => r.order_id === o.id)).toBe(true);
    } finally {
      sim.setFaults(NO_FAULTS);
      await t.admin('PUT', '/admin/v1/issuer-codes/china_mobile/9003', {
        reason: null,
        description: 'card status abnormal: locked, reported lost or under the issuer review',
      });
    }
  });
});
