import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { createMetrics } from '../../src/http/metrics.js';
import { silentLogger } from '../harness/logger.js';
import { sleep } from '../harness/wait.js';

describe('requests that arrive while the server shuts down', () => {
  it('get 503 service_unavailable in the one error body, with Retry-After', async () => {
    const app = await buildApp({
      logger: silentLogger,
      bodyLimitBytes: 1024 * 1024,
      metrics: createMetrics(async () => ({ available: 0, running: 0, succeeded: 0, dead: 0 })),
      readiness: [
        {
          name: 'slow',
          check: async () => {
            await sleep(300);
            return { ok: true, detail: 'slow' };
          },
        },
      ],
      apis: [],
      version: 'test',
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const port = Number(new URL(address).port);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      socket.on('connect', () => {
        // The first request is in flight when close() starts; the second arrives on its connection after.
        socket.write('GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
        setTimeout(() => void app.close(), 50);
        setTimeout(() => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'), 100);
      });
      socket.on('data', (d) => {
        data += d;
      });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    const responses = raw.split(/(?=HTTP\/1\.1 )/);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200/);
    expect(responses[1]).toMatch(/^HTTP\/1\.1 503/);
    expect(responses[1]?.toLowerCase()).toContain('retry-after: 1');
    expect(responses[1]).toContain('"code":"service_unavailable"');
  });
});
