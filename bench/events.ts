/**
 * The cost of an event per transition: the same order transitions run with and without their event
 * (and with one subscriber, whose job is written too), in units through the group committer as the
 * worker runs them. Prints µs of CPU and wall per transition. Part of `npm run bench`.
 * RECARD_BENCH_EVENTS (default 20,000 transitions per row), RECARD_BENCH_PG_URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventLog, type Subscriber } from '../src/modules/events/index.js';
import { createOrderTransitions, ORDER_EVENT_TYPES } from '../src/modules/orders/index.js';
import { newId } from '../src/shared/ids.js';
import { openStorage, type Storage } from '../src/storage/database.js';
import { createCommitter } from '../src/storage/group-commit.js';
import { migrateToLatest } from '../src/storage/migrate.js';
import type { OrdersTable } from '../src/storage/schema.js';

const COUNT = Number(process.env.RECARD_BENCH_EVENTS ?? 20_000);
const CONCURRENCY = 64;
const PG_URL = process.env.RECARD_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const rows: string[] = [];

const sink: Subscriber = { name: 'bench_sink', types: ['order.review'], handle: async () => undefined };

function order(id: string, now: number): OrdersTable {
  return {
    id,
    channel_id: 'ch_bench',
    merchant_order_id: id,
    request_hash: 'h',
    card_type: 'cmcc_national',
    card_hash: randomBytes(16).toString('hex'),
    card_last4: '1234',
    card_number_length: 17,
    card_key_id: 'k',
    card_wrapped_key: null,
    card_ciphertext: null,
    declared_face_value: 10_000,
    currency: 'CNY',
    status: 'verifying',
    seller_id: 's',
    seller_name: null,
    callback_url: null,
    attach: null,
    client_ip: null,
    device_id: null,
    user_id: null,
    user_registered_at: null,
    created_at: now,
    updated_at: now,
    issuer: 'china_mobile',
    route_id: null,
    actual_face_value: null,
    reason: null,
    raw_code: null,
    redemption_id: null,
    redeem_state: 'none',
    waiting_for: null,
    verified_at: null,
    price_id: null,
    quote_id: null,
    platform_order_id: null,
    store_terminal_id: null,
    blockchain_address: null,
    approved_at: null,
    batch_id: null,
  };
}

async function measure(name: string, storage: Storage, mode: 'no event' | 'event' | 'event + 1 subscriber') {
  const db = storage.db;
  const now = Date.now();
  await db
    .insertInto('channels')
    .values({
      id: 'ch_bench',
      name: 'bench',
      kind: 'merchant',
      status: 'active',
      secret_sealed: 'x',
      webhook_secret_sealed: 'x',
      callback_url: null,
      face_value_policy: 'review',
      group_id: null,
      auth_schemes: '["HMAC-SHA256"]',
      require_token: 0,
      client_cert_sha256: null,
      secret_previous_sealed: null,
      secret_previous_until: null,
      webhook_secret_previous_sealed: null,
      webhook_secret_previous_until: null,
      callback_format: 'standard',
      callback_ack: 'any_2xx',
      callback_sign_type: 'HMAC-SHA256',
      callback_hosts: '[]',
      settlement_currency: null,
      settlement_cycle: 'T0',
      settlement_cutoff: '00:00',
      settlement_time_zone: 'Asia/Shanghai',
      escrow: 0,
      min_payout: 0,
      payout_fee: 0,
      seller_daily_payout_cap: null,
      limit_currency: 'CNY',
      order_min: null,
      order_max: null,
      daily_amount_cap: null,
      daily_order_cap: null,
      rate_per_second: null,
      rate_burst: null,
      ip_allowlist: '[]',
      required_fields: '[]',
      created_at: now,
      updated_at: now,
    })
    .execute();
  const ids = Array.from({ length: COUNT }, () => newId('ord', now));
  for (let i = 0; i < ids.length; i += 500)
    await db
      .insertInto('orders')
      .values(ids.slice(i, i + 500).map((id) => order(id, now)))
      .execute();
  const events = createEventLog(
    ORDER_EVENT_TYPES,
    mode === 'event + 1 subscriber' ? [sink] : [],
    storage.dialect,
  );
  const transitions = createOrderTransitions({ events, priceOf: async () => undefined });
  const committer = createCommitter(db, storage.dialect);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < ids.length; i = next++) {
        const id = ids[i] as string;
        await committer.run(async (trx) => {
          if (mode === 'no event') {
            // What a transition cost before events: the conditioned update and its order_events row.
            await trx
              .updateTable('orders')
              .set({ status: 'review', reason: 'x', updated_at: now })
              .where('id', '=', id)
              .where('status', '=', 'verifying')
              .execute();
            await trx
              .insertInto('order_events')
              .values({
                id: newId('oev', now),
                order_id: id,
                event: 'hold_for_review',
                from_status: 'verifying',
                to_status: 'review',
                reason: 'x',
                created_at: now,
              })
              .execute();
          } else {
            const r = await transitions.change(trx, id, {
              event: 'hold_for_review',
              from: 'verifying',
              facts: { reason: 'x' },
              nowMs: now,
            });
            if (!r.ok) throw new Error(r.detail);
          }
        });
      }
    }),
  );
  const wallUs = ((performance.now() - t0) * 1000) / COUNT;
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = (cpu.user + cpu.system) / COUNT;
  rows.push(
    `| ${name} | ${mode} | ${cpuUs.toFixed(1)} | ${wallUs.toFixed(1)} | ${Math.round(1e6 / wallUs)} |`,
  );
  process.stderr.write(
    `${name} ${mode}: ${cpuUs.toFixed(1)} µs CPU, ${wallUs.toFixed(1)} µs wall per transition\n`,
  );
}

async function onEach(name: string, open: () => Promise<{ storage: Storage; drop(): Promise<void> }>) {
  for (const mode of ['no event', 'event', 'event + 1 subscriber'] as const) {
    const { storage, drop } = await open();
    try {
      await migrateToLatest(storage);
      await measure(name, storage, mode);
    } finally {
      await drop();
    }
  }
}

await onEach('SQLite FULL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'recard-bench-events-'));
  const storage = await openStorage({ url: `sqlite:${join(dir, 'e.db')}` });
  return {
    storage,
    drop: async () => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
await onEach('PostgreSQL', async () => {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const storage = await openStorage({ url: PG_URL, schema, poolSize: 10 });
  return {
    storage,
    drop: async () => {
      await storage.db.schema.dropSchema(schema).ifExists().cascade().execute();
      await storage.close();
    },
  };
});

process.stdout.write(
  [
    `Transitions through the group committer, ${CONCURRENCY} at a time, ${COUNT} per row (verifying → review).`,
    '',
    '| database | written with the transition | CPU µs per transition | wall µs per transition | transitions/s |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
