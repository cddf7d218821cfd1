import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { signedHeaders } from './src/client/signing.ts';

const CH = process.env.CH ?? '';
const SK = process.env.SK ?? '';
const ts = Math.floor(Date.now() / 1000);
const prepared = Array.from({ length: 60000 }, (_, i) => {
  const body = JSON.stringify({
    merchant_order_id: `p-${i}`,
    card_type: 'cmcc_national',
    card_number: String(i).padStart(17, '0'),
    card_secret: '123456789012345678',
    declared_face_value: 10000,
    seller: { id: 's' },
  });
  return {
    body,
    headers: {
      ...signedHeaders(CH, SK, {
        timestamp: ts,
        nonce: randomBytes(16).toString('base64url'),
        method: 'POST',
        pathWithQuery: '/v1/orders',
        body,
      }),
      'content-type': 'application/json',
    },
  };
});
let n = 0;
const r = await autocannon({
  url: 'http://127.0.0.1:3997',
  connections: 100,
  duration: 8,
  requests: [
    {
      method: 'POST',
      path: '/v1/orders',
      setupRequest: (req) => ({ ...req, ...prepared[n++ % prepared.length] }),
    },
  ],
});
console.log(r['2xx'] / 8, r.latency.p99, r.non2xx);
