import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook } from '../../src/modules/webhooks/index.js';

export interface Delivery {
  headers: IncomingMessage['headers'];
  body: string;
  /** Which of the receiver's secrets verified it (by index); empty when none did. */
  verifiedBy: number[];
  answered: number;
  at: number;
}

export interface ReceiverOptions {
  /** Secrets to verify with, each by the `standardwebhooks` package (a merchant's own check). */
  secrets?: string[];
  /** Attempts answered with 500 before the receiver starts answering. */
  failFirst?: number;
  /** Status and body of an acknowledged answer. */
  status?: number;
  body?: string;
  /** Verify the timestamp too (off for tests that move the server's clock by hours). */
  checkTimestamp?: boolean;
}

/**
 * A merchant's callback endpoint built only from docs/webhooks.md and `standardwebhooks`: it verifies
 * every delivery, fails on purpose for the first N attempts, and records what it got.
 */
export async function startWebhookReceiver(options: ReceiverOptions = {}) {
  const got: Delivery[] = [];
  const hooks = (options.secrets ?? []).map((s) => new Webhook(s));
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      const verifiedBy: number[] = [];
      hooks.forEach((h, i) => {
        try {
          if (options.checkTimestamp === false) {
            // The package always checks the timestamp (±5 min): with the server's clock moved by
            // hours, the signature alone is checked, by the same Standard Webhooks rule.
            const ok = verifyWebhook(
              (options.secrets ?? [])[i] as string,
              { id: headers['webhook-id'], timestamp: Number(headers['webhook-timestamp']), body },
              headers['webhook-signature'],
            );
            if (!ok) throw new Error('signature');
          } else {
            h.verify(body, headers);
          }
          verifiedBy.push(i);
        } catch {
          // not verified by this secret
        }
      });
      // Read at every request: a test may change its mind (start or stop failing) while it runs.
      const failing = got.length < (options.failFirst ?? 0);
      const answered = failing ? 500 : (options.status ?? 200);
      got.push({ headers: req.headers, body, verifiedBy, answered, at: Date.now() });
      res
        .writeHead(answered, { 'content-type': 'text/plain' })
        .end(failing ? 'not yet' : (options.body ?? 'ok'));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/notify`,
    port,
    got,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
