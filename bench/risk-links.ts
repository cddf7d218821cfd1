/**
 * What `recordLinks` costs intake (docs/risk-rings.md): µs per call on SQLite, three subjects per call
 * (device, IP, destination), 50,000 sellers already linked, 95 % of calls from a known seller on known
 * values and 5 % bringing a new device. Calls run in transactions of 100 (as group commit batches
 * intake units), so the figure is the statement's cost, not an fsync's. Also the keyed hashes that
 * make the subjects. `node --import tsx bench/risk-links.ts` (not part of npm run bench).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hit } from '../src/modules/lockouts/store.js';
import { createLinkHasher, recordLinks } from '../src/modules/risk/index.js';
import { cryptoSuite } from '../src/shared/suite.js';
import { openStorage } from '../src/storage/database.js';
import { migrateToLatest } from '../src/storage/migrate.js';

const dir = mkdtempSync(join(tmpdir(), 'recard-bench-links-'));
const storage = await openStorage({ url: `sqlite:${join(dir, 'recard.db')}`, schema: 'public', poolSize: 1 });
await migrateToLatest(storage);
const db = storage.db;
const hasher = createLinkHasher(Buffer.alloc(32, 1), cryptoSuite('standard').keyedHash);
const SELLERS = 50_000;
const subjectsOf = (seller: number, device: number) =>
  hasher.subjectsOf({
    channelId: 'ch_bench',
    deviceId: `device-${seller}-${device}`,
    clientIp: `10.${(seller >> 16) & 255}.${(seller >> 8) & 255}.${seller & 255}`,
    destination: { type: 'alipay', account: `seller${seller}@example.com` },
  });

async function run(n: number, start: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i += 100)
    await db.transaction().execute(async (trx) => {
      for (let j = i; j < Math.min(n, i + 100); j++) {
        const k = start + j;
        const seller = (k * 7919) % SELLERS;
        const subjects = subjectsOf(seller, k % 20 === 0 ? k : 0);
        await recordLinks(
          trx,
          { channelId: 'ch_bench', sellerId: `s${seller}`, subjects },
          1_700_000_000_000 + k,
        );
      }
    });
  return ((performance.now() - t0) * 1000) / n;
}

// Seed every seller once, then warm up.
await db.transaction().execute(async (trx) => {
  for (let s = 0; s < SELLERS; s++)
    await recordLinks(trx, { channelId: 'ch_bench', sellerId: `s${s}`, subjects: subjectsOf(s, 0) }, 1);
});
await run(5_000, 0);
const total = await run(50_000, 10_000);
// For scale: the lockouts' one-row counter upsert intake already runs (same transactions of 100).
const t2 = performance.now();
for (let i = 0; i < 50_000; i += 100)
  await db.transaction().execute(async (trx) => {
    for (let j = i; j < i + 100; j++)
      await hit(trx, {
        kind: 'card',
        key: `card-${(j * 7919) % SELLERS}`,
        metric: 'try',
        windowMs: 300_000,
        nowMs: j,
      });
  });
const counter = ((performance.now() - t2) * 1000) / 50_000;
const t1 = performance.now();
for (let k = 0; k < 50_000; k++) subjectsOf(k % SELLERS, 0);
const hashing = ((performance.now() - t1) * 1000) / 50_000;
process.stdout.write(
  [
    '| what | µs per call |',
    '|---|---|',
    `| subjectsOf (3 keyed hashes + labels) | ${hashing.toFixed(1)} |`,
    `| subjectsOf + recordLinks, 3 subjects, SQLite | ${total.toFixed(1)} |`,
    `| recordLinks alone (difference) | ${(total - hashing).toFixed(1)} |`,
    `| for scale: lockouts' hit (one-row counter upsert), SQLite | ${counter.toFixed(1)} |`,
    '',
  ].join('\n'),
);
await storage.close();
rmSync(dir, { recursive: true, force: true });
