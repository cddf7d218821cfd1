/**
 * What one channel signature check costs, and what SM2 does to the event loop with and without the
 * worker pool (decision 0027). Not part of `npm run bench`:
 * `node --import tsx bench/signatures.ts` (RECARD_BENCH_SIG_N verifications per run, default 400).
 */
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringToSign } from '../src/client/signing.js';
import {
  type ChannelPublicKey,
  parseChannelPublicKey,
  verifyChannelSignature,
} from '../src/shared/channel-keys.js';
import {
  encodeSm2Signature,
  sm2PrivateKey,
  sm2PublicKeyBytes,
  sm2PublicKeyOf,
  sm2Sign,
} from '../src/shared/gm/sm2.js';
import { createSignaturePool, defaultPoolThreads, type SignaturePool } from '../src/shared/signature-pool.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const N = Number(process.env.RECARD_BENCH_SIG_N ?? 400);
const message = stringToSign({
  timestamp: 1763800000,
  nonce: 'n9Xk2LbQ7vR4tZ8wYc1D',
  method: 'POST',
  pathWithQuery: '/v1/orders',
  body: JSON.stringify({
    merchant_order_id: 'mo-1',
    card_type: 'cmcc_national',
    card_number: '1'.repeat(17),
  }),
});

const parsed = (text: string): ChannelPublicKey => {
  const r = parseChannelPublicKey(text);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};

const d = sm2PrivateKey();
const sm2Key = parsed(Buffer.from(sm2PublicKeyBytes(sm2PublicKeyOf(d))).toString('hex'));
const sm2Sig = encodeSm2Signature(sm2Sign(d, message)).toString('base64');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaKey = parsed(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
const rsaSig = sign('sha256', message, rsa.privateKey).toString('base64');

async function perCall(name: string, n: number, run: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await run(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await run();
  const ms = (performance.now() - t0) / n;
  say(`${name.padEnd(34)} ${ms.toFixed(4)} ms per call (${Math.round(1000 / ms)}/s, one at a time)`);
  return ms;
}

/**
 * N SM2 verifications issued 32 at a time while a 1 ms timer measures how late the event loop
 * answers: the delay every other request in the process would see.
 */
async function underLoad(name: string, pool: SignaturePool | undefined) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  const t0 = performance.now();
  h.enable();
  let ok = 0;
  for (let i = 0; i < N; i += 32) {
    const batch = Array.from({ length: Math.min(32, N - i) }, () =>
      verifyChannelSignature(sm2Key, message, sm2Sig, pool),
    );
    for (const v of await Promise.all(batch)) if (v) ok++;
    await sleep(0);
  }
  h.disable();
  const s = (performance.now() - t0) / 1000;
  if (ok !== N) throw new Error(`${name}: ${N - ok} signatures failed`);
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  say(
    `${name.padEnd(34)} ${Math.round(N / s)}/s; event-loop delay p50 ${ms(h.percentile(50))} ms, p99 ${ms(h.percentile(99))} ms, max ${ms(h.max)} ms`,
  );
}

say(`cores ${availableParallelism()}, pool threads ${defaultPoolThreads()}, N ${N}`);
await perCall('HMAC-SHA256 (today)', N * 10, () =>
  createHmac('sha256', 'sk_x').update(message).digest('hex'),
);
await perCall('HMAC-SM3', N * 10, () => createHmac('sm3', 'sk_x').update(message).digest('hex'));
await perCall('RSA-2048 verify (in-line)', N * 5, () => verifyChannelSignature(rsaKey, message, rsaSig));
await perCall('SM2 verify (in-line)', N, () => verifyChannelSignature(sm2Key, message, sm2Sig));
const pool = createSignaturePool();
try {
  await perCall('SM2 verify (pool, one at a time)', N, () =>
    verifyChannelSignature(sm2Key, message, sm2Sig, pool),
  );
  await underLoad('SM2 32 concurrent, in-line', undefined);
  await underLoad(`SM2 32 concurrent, pool (${defaultPoolThreads()} thr.)`, pool);
} finally {
  await pool.close();
}
