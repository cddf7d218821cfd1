import WebSocket from 'ws';
import type { RecardClient } from '../../src/client/client.js';
import { waitFor } from './wait.js';

export interface StreamedEvent {
  id: string;
  type: string;
  sequence: number;
  subject_id: string;
  channel_id: string;
}

export interface StreamConnection {
  status: number;
  events: StreamedEvent[];
  /** SSE control lines seen (`: heartbeat`, `event: dropped`…). */
  controls: string[];
  until(n: number, what?: string): Promise<StreamedEvent[]>;
  close(): void;
  closed: Promise<{ code?: number; reason?: string }>;
}

/** An SSE client as a merchant's server would write one: signed GET, then the event-stream parsed by hand. */
export async function openSse(
  baseUrl: string,
  client: RecardClient,
  path = '/v1/events/stream',
  extraHeaders: Record<string, string> = {},
): Promise<StreamConnection & { body: string }> {
  const controller = new AbortController();
  const res = await fetch(new URL(path, baseUrl), {
    headers: { ...client.headersFor('GET', path), ...extraHeaders },
    signal: controller.signal,
  });
  const events: StreamedEvent[] = [];
  const controls: string[] = [];
  let body = '';
  let settle: (v: { code?: number; reason?: string }) => void = () => undefined;
  const closed = new Promise<{ code?: number; reason?: string }>((r) => {
    settle = r;
  });
  if (res.status !== 200) {
    body = await res.text();
    settle({});
  } else {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n');
            const kind = block.split('\n').find((l) => l.startsWith('event: '));
            if (block.startsWith(':') || kind === 'event: dropped') controls.push(block);
            else if (data) events.push(JSON.parse(data) as StreamedEvent);
          }
        }
      } catch {
        // aborted by close()
      }
      settle({});
    })();
  }
  return {
    status: res.status,
    body,
    events,
    controls,
    until: (n, what = `${n} streamed events`) =>
      waitFor(async () => (events.length >= n ? events : undefined), 10_000, what),
    close: () => controller.abort(),
    closed,
  };
}

/** A WebSocket client, signed at the upgrade with the channel's headers. */
export async function openWs(
  baseUrl: string,
  client: RecardClient,
  path = '/v1/events/ws',
): Promise<StreamConnection> {
  const url = new URL(path, baseUrl.replace(/^http/, 'ws'));
  const socket = new WebSocket(url, { headers: client.headersFor('GET', path) });
  const events: StreamedEvent[] = [];
  let settle: (v: { code?: number; reason?: string }) => void = () => undefined;
  const closed = new Promise<{ code?: number; reason?: string }>((r) => {
    settle = r;
  });
  // Before the upgrade completes: a backlog can arrive in the same read as the handshake.
  socket.on('message', (data) => events.push(JSON.parse(String(data)) as StreamedEvent));
  const status = await new Promise<number>((resolve) => {
    socket.on('open', () => resolve(101));
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      settle({});
    });
    socket.on('error', () => resolve(0));
  });
  socket.on('close', (code, reason) => settle({ code, reason: String(reason) }));
  return {
    status,
    events,
    controls: [],
    until: (n, what = `${n} events over the WebSocket`) =>
      waitFor(async () => (events.length >= n ? events : undefined), 10_000, what),
    close: () => socket.close(),
    closed,
  };
}
