/**
 * Slow callbacks against verification (issue 10, decision 0018): the time from submitting a card to
 * its `redeemed` answer with an idle worker, then while 40 test callbacks wait on an endpoint that
 * answers after 5 s. Run from a checkout with `npm run build` done:
 * `node --import tsx bench/isolation.ts` (RECARD_BENCH_ISOLATION_ROUNDS, default 3 cards each way).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecardClient } from '../src/client/client.js';
import { DEFAULT_SEED, generateCardBase } from '../src/simulators/card-base.js';
import { children, createBenchChannel, startProcess } from './processes.js';

const ROUNDS = Number(process.env.RECARD_BENCH_ISOLATION_ROUNDS ?? 3);
const SLOW_MS = 5000;

const slow = createServer((req, res) => {
  req.resume();
  req.on('end', () => setTimeout(() => res.writeHead(200).end(), SLOW_MS));
});
await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`;

const dataDir = mkdtempSync(join(tmpdir(), 'recard-bench-iso-'));
const env = {
  RECARD_DATA_DIR: dataDir,
  RECARD_LOG_LEVEL: 'warn',
  RECARD_PORT: '0',
  RECARD_WORKER_POLL_MS: '250',
};
const cards = generateCardBase({ seed: DEFAULT_SEED }).filter(
  (c) => c.label === 'valid' && c.cardType === 'cmcc_national',
);
let used = 0;

try {
  const { channelId, secret } = createBenchChannel(env);
  const url = await startProcess(
    ['--max-semi-space-size=128', 'bin/recard.js', 'serve', '--demo'],
    env,
    /running at (\S+)/,
  );
  const client = new RecardClient({ baseUrl: url, channelId, secret });

  const redeemOne = async (): Promise<number> => {
    const card = cards[used++];
    if (!card) throw new Error('out of demo cards');
    const t0 = performance.now();
    const res = await client.post<{ id: string }>('/v1/orders', {
      merchant_order_id: `iso-${randomBytes(6).toString('hex')}`,
      card_type: card.cardType,
      card_number: card.number,
      card_secret: card.secret,
      declared_face_value: card.declaredFaceValue,
      seller: { id: 's1' },
    });
    if (res.status !== 201) throw new Error(`submit: ${res.status} ${JSON.stringify(res.body)}`);
    for (let i = 0; i < 6000; i++) {
      const o = await client.get<{ status: string }>(`/v1/orders/${res.body.id}`);
      if (o.body.status === 'redeemed') return performance.now() - t0;
      if (!['submitted', 'verifying'].includes(o.body.status)) throw new Error(`order ${o.body.status}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('not redeemed within a minute');
  };

  await redeemOne(); // warm-up
  const idle: number[] = [];
  for (let i = 0; i < ROUNDS; i++) idle.push(await redeemOne());
  const loaded: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (let c = 0; c < 40; c++) await client.post('/v1/callback-tests', { url: slowUrl });
    await new Promise((r) => setTimeout(r, 300)); // the callbacks are claimed and waiting
    loaded.push(await redeemOne());
    await new Promise((r) => setTimeout(r, SLOW_MS * 6)); // let that wave drain before the next
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  process.stdout.write(
    [
      `| submit → redeemed | median ms | all ms |`,
      `|---|---|---|`,
      `| idle worker | ${median(idle).toFixed(0)} | ${idle.map((x) => x.toFixed(0)).join(', ')} |`,
      `| 40 callbacks waiting ${SLOW_MS / 1000} s each | ${median(loaded).toFixed(0)} | ${loaded.map((x) => x.toFixed(0)).join(', ')} |`,
      '',
    ].join('\n'),
  );
} finally {
  for (const c of children) c.kill('SIGTERM');
  slow.close();
  rmSync(dataDir, { recursive: true, force: true });
}
