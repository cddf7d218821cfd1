import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: { error?: { code?: string; message?: string; field?: string; request_id?: string } };
  text: string;
}

/** Bytes an HTTP client would refuse to send, written to the socket as they are. */
function rawExchange(url: string, bytes: string): Promise<RawAnswer> {
  const port = Number(new URL(url).port);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const done = () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const text = rest.join('\r\n\r\n');
      let body: RawAnswer['body'] = {};
      try {
        body = JSON.parse(text);
      } catch {
        // left empty: the assertions say what was wrong
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body, text });
    };
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      // A keep-alive answer does not close the socket: stop once the declared body is in.
      const [head, ...rest] = data.split('\r\n\r\n');
      const length = /content-length:\s*(\d+)/i.exec(head ?? '')?.[1];
      if (length !== undefined && Buffer.byteLength(rest.join('\r\n\r\n'), 'latin1') >= Number(length)) {
        socket.destroy();
        done();
      }
    });
    socket.on('close', done);
    socket.on('error', (err) => (data ? done() : reject(err)));
    socket.setTimeout(5000, () => reject(new Error('no answer within 5 s')));
  });
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

describe.each(storageTargets().slice(0, 1))(
  'errors the framework raises before a route, on $name',
  (target) => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer(target, { worker: false });
    });
    afterAll(() => t.stop());

    const expectBody = (res: RawAnswer, status: number, code: string) => {
      expect(res.status, res.text).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body.error?.code, res.text).toBe(code);
      expect(typeof res.body.error?.message).toBe('string');
      expect(res.body.error?.request_id).toMatch(/^req_/);
      expect(res.headers['x-request-id']).toBe(res.body.error?.request_id);
    };

    it('headers over 16 KB: 431 headers_too_large', async () => {
      const res = await rawExchange(t.url, get('/v1/card-types', `X-Filler: ${'a'.repeat(17 * 1024)}\r\n`));
      expectBody(res, 431, 'headers_too_large');
    });

    it('a path with a broken percent-encoding: 400 malformed_request', async () => {
      expectBody(await rawExchange(t.url, get('/v1/orders/%ZZ')), 400, 'malformed_request');
      expectBody(await rawExchange(t.url, get('/v1/%C0%AF')), 400, 'malformed_request');
    });

    it('a path parameter over the router limit: 414 uri_too_long', async () => {
      const res = await rawExchange(t.url, get(`/v1/orders/ord_${'a'.repeat(300)}`));
      expectBody(res, 414, 'uri_too_long');
    });

    it('a garbage request line: 400 malformed_request, and the connection is closed', async () => {
      const res = await rawExchange(t.url, 'HELLO THERE\r\n\r\n');
      expectBody(res, 400, 'malformed_request');
      expect(res.headers.connection).toBe('close');
      const bin = await rawExchange(t.url, '\x00\x01\x02 / HTTP/1.1\r\n\r\n');
      expectBody(bin, 400, 'malformed_request');
    });

    it('a caller-supplied request id is kept where Fastify made a request', async () => {
      const res = await rawExchange(t.url, get('/v1/orders/%ZZ', 'X-Request-Id: probe-1\r\n'));
      expect(res.body.error?.request_id).toBe('probe-1');
    });
  },
);

describe('a request body that never arrives in full', () => {
  it('is cut off with 408 request_timeout in the error body, so a slow body cannot hold a connection', async () => {
    const t = await startTestServer(storageTargets()[0] as never, {
      worker: false,
      config: { requestTimeoutMs: 1000 },
    });
    try {
      // Headers complete, one byte of a 100-byte body, then nothing.
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
        let data = '';
        socket.on('connect', () =>
          socket.write(
            'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
          ),
        );
        socket.on('data', (c) => {
          data += c.toString();
        });
        socket.on('close', () => resolve(data));
        socket.on('error', () => resolve(data));
        socket.setTimeout(20_000, () => reject(new Error('the connection was held open')));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      const body = JSON.parse(answer.split('\r\n\r\n')[1] ?? '{}') as {
        error?: { code?: string; request_id?: string };
      };
      expect(body.error?.code).toBe('request_timeout');
      expect(body.error?.request_id).toMatch(/^req_/);
    } finally {
      await t.stop();
    }
  }, 60_000);
});
