import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobRuntime } from '../../src/jobs/runtime.js';
import type { OrderView } from '../../src/modules/orders/index.js';
import {
  createLinkHasher,
  type LinkInput,
  RISK_OUTCOMES,
  recordLinks,
  refreshRings,
} from '../../src/modules/risk/index.js';
import { cryptoSuite } from '../../src/shared/suite.js';
import { mobileOrder } from '../harness/orders.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

/**
 * Fraud rings through a real server (docs/risk-rings.md): orders frozen and rejected through the
 * orders' one writer, counted by the risk_outcomes subscriber's jobs, links recorded as intake
 * would, the rings job, and the admin routes with their roles.
 */
const hasher = createLinkHasher(Buffer.alloc(32, 9), cryptoSuite('standard').keyedHash);

interface RingBody {
  id: string;
  size: number;
  bad_members: number;
  flagged: boolean;
  members: {
    channel_id: string;
    seller_id: string;
    rejected_orders: number;
    frozen_orders: number;
    linked_by: { kind: string; label: string }[];
  }[];
  links: { kind: string; label: string; members: { channel_id: string; seller_id: string }[] }[];
}

describe.each(storageTargets())('fraud rings on $name', (target) => {
  let t: TestServer;
  let channelId: string;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  beforeAll(async () => {
    // No worker: orders stay `submitted` until a test moves them; a runtime below runs the subscriber.
    // The rules on: a member of a flagged ring is sent to review at intake (the ring_member rule).
    t = await startTestServer(target, { worker: false, config: { risk: 'on' } });
    ch = await t.createChannel();
    channelId = ch.id;
    const submit = async (sellerId: string) => {
      const r = await ch.client.post<OrderView>('/v1/orders', mobileOrder({ seller: { id: sellerId } }));
      expect(r.status).toBe(201);
      return r.body.id;
    };
    const db = t.ctx.storage.db;
    const step = (id: string, event: 'freeze' | 'reject', from: 'submitted' | 'frozen') =>
      db.transaction().execute(async (trx) => {
        const done = await t.ctx.orders.change(trx, id, { event, from, nowMs: Date.now() });
        expect(done.ok).toBe(true);
      });
    // Seller a: one order frozen then rejected, one rejected at once. Seller c: one frozen.
    const a1 = await submit('a');
    await step(a1, 'freeze', 'submitted');
    await step(a1, 'reject', 'frozen');
    await step(await submit('a'), 'reject', 'submitted');
    await step(await submit('c'), 'freeze', 'submitted');
    await submit('b');

    const runtime = new JobRuntime({
      db,
      dialect: t.ctx.storage.dialect,
      handlers: t.ctx.jobHandlers.filter((h) => h.spec.kind === `events.${RISK_OUTCOMES}`),
      clock: t.ctx.clock,
      logger: t.ctx.logger,
      concurrency: 4,
      pollMs: 20,
      leaseMs: 30_000,
      committer: t.ctx.committer,
    });
    runtime.start();
    try {
      await waitFor(
        async () => {
          const left = await db
            .selectFrom('jobs')
            .select('id')
            .where('kind', '=', `events.${RISK_OUTCOMES}`)
            .where('state', '!=', 'succeeded')
            .execute();
          return left.length === 0;
        },
        15_000,
        'the risk_outcomes deliveries',
      );
    } finally {
      await runtime.stop(1_000);
    }

    const seen = (sellerId: string, input: Omit<LinkInput, 'channelId'>) =>
      t.ctx.committer.run((trx) =>
        recordLinks(
          trx,
          { channelId, sellerId, subjects: hasher.subjectsOf({ channelId, ...input }) },
          Date.now(),
        ),
      );
    await seen('a', { deviceId: 'phone-7a1f', clientIp: '198.51.100.23' });
    await seen('b', { deviceId: 'phone-7a1f' });
    await seen('c', { clientIp: '198.51.100.23' });
    await seen('e', { destination: { type: 'bank_card', account: '6222020200112233' } });
    await seen('f', { destination: { type: 'bank_card', account: '6222020200112233' } });
    await seen('loner', { deviceId: 'phone-0000' });
    await refreshRings(db, t.ctx.storage.dialect, {}, Date.now());
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('the subscriber counted every rejected and frozen order once per seller', async () => {
    const rows = await t.ctx.storage.db
      .selectFrom('risk_seller_outcomes')
      .select(['seller_id', 'rejected', 'frozen'])
      .orderBy('seller_id')
      .execute();
    expect(rows.map((r) => [r.seller_id, Number(r.rejected), Number(r.frozen)])).toEqual([
      ['a', 2, 1],
      ['c', 0, 1],
    ]);
  });

  it("shows a seller's ring: members, why each is in it, bad members, flagged", async () => {
    const res = await t.admin('GET', `/admin/v1/risk/sellers/${channelId}/b/ring`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const ring = res.body as unknown as RingBody;
    expect(ring).toMatchObject({ size: 3, bad_members: 2, flagged: true });
    expect(ring.id).toMatch(/^rng_[0-9a-z]{26}$/);
    expect(ring.members).toEqual([
      {
        channel_id: channelId,
        seller_id: 'a',
        rejected_orders: 2,
        frozen_orders: 1,
        linked_by: [
          { kind: 'device', label: 'device …7a1f' },
          { kind: 'ip', label: 'ip 198.51.100.0/24' },
        ],
      },
      {
        channel_id: channelId,
        seller_id: 'b',
        rejected_orders: 0,
        frozen_orders: 0,
        linked_by: [{ kind: 'device', label: 'device …7a1f' }],
      },
      {
        channel_id: channelId,
        seller_id: 'c',
        rejected_orders: 0,
        frozen_orders: 1,
        linked_by: [{ kind: 'ip', label: 'ip 198.51.100.0/24' }],
      },
    ]);
    expect(ring.links.map((l) => [l.label, l.members.map((m) => m.seller_id)])).toEqual([
      ['device …7a1f', ['a', 'b']],
      ['ip 198.51.100.0/24', ['a', 'c']],
    ]);
    // Raw values never leave: not the device id, the address or the account.
    expect(JSON.stringify(res.body)).not.toMatch(/phone-7a1f|198\.51\.100\.23|6222020200112233/);
  });

  it('answers 404 in the error shape for a seller in no ring', async () => {
    await expectRefusal(t, () => t.admin('GET', `/admin/v1/risk/sellers/${channelId}/loner/ring`), {
      status: 404,
      code: 'resource_not_found',
      field: 'params.seller_id',
    });
    await expectRefusal(t, () => t.admin('GET', '/admin/v1/risk/sellers/ch_nobody/a/ring'), {
      status: 404,
      code: 'resource_not_found',
    });
  });

  it('lists rings, flagged or not, and pages them', async () => {
    const flagged = await t.admin('GET', '/admin/v1/risk/rings?flagged=true');
    expect(flagged.status).toBe(200);
    const fl = flagged.body as { data: RingBody[]; next_cursor: string | null };
    expect(fl.data.map((r) => r.members.map((m) => m.seller_id))).toEqual([['a', 'b', 'c']]);
    expect(fl.next_cursor).toBeNull();
    const clean = (await t.admin('GET', '/admin/v1/risk/rings?flagged=false')).body as { data: RingBody[] };
    expect(clean.data.map((r) => [r.flagged, r.links[0]?.label])).toEqual([[false, 'bank_card …2233']]);
    const first = (await t.admin('GET', '/admin/v1/risk/rings?limit=1')).body as {
      data: RingBody[];
      next_cursor: string;
    };
    expect(first.data).toHaveLength(1);
    const rest = (await t.admin('GET', `/admin/v1/risk/rings?limit=1&cursor=${first.next_cursor}`)).body as {
      data: RingBody[];
      next_cursor: string | null;
    };
    expect(rest.data).toHaveLength(1);
    expect(rest.data[0]?.id).not.toBe(first.data[0]?.id);
    expect(rest.next_cursor).toBeNull();
    await expectRefusal(t, () => t.admin('GET', '/admin/v1/risk/rings?flagged=maybe'), {
      status: 400,
      code: 'invalid_request',
    });
  });

  it("sends a flagged ring's member to review at intake, with the ring in the rule's reasons; an unflagged ring's member passes", async () => {
    // Intake reads flagged rings through a cache of one second: wait it out.
    await new Promise((r) => setTimeout(r, 1_100));
    const ring = (await t.admin('GET', `/admin/v1/risk/sellers/${channelId}/b/ring`))
      .body as unknown as RingBody;
    const held = await ch.client.post<OrderView & { reason?: string }>(
      '/v1/orders',
      mobileOrder({ seller: { id: 'b' } }),
    );
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({ status: 'review', reason: 'risk_review' });
    const fired = (await t.admin('GET', `/admin/v1/risk/orders/${held.body.id}/assessments`)).body as {
      data: { fired: { rule: string; reasons: string[] }[] }[];
    };
    expect(fired.data[0]?.fired).toEqual([
      expect.objectContaining({
        rule: 'ring_member',
        reasons: [`seller is in fraud ring ${ring.id} of 3 sellers, 2 with rejected or frozen orders`],
      }),
    ]);
    const passed = await ch.client.post<OrderView>('/v1/orders', mobileOrder({ seller: { id: 'e' } }));
    expect(passed.body.status).toBe('submitted');
  });

  it('lets reviewers, finance and admins read rings, and nobody without a session', async () => {
    for (const role of ['reviewer', 'finance', 'admin'] as const) {
      const { token } = await t.adminSession(role);
      expect((await t.admin('GET', '/admin/v1/risk/rings', undefined, token)).status).toBe(200);
      expect(
        (await t.admin('GET', `/admin/v1/risk/sellers/${channelId}/a/ring`, undefined, token)).status,
      ).toBe(200);
    }
    expect((await t.admin('GET', '/admin/v1/risk/rings', undefined, 'adm_not-a-session')).status).toBe(401);
  });
});
