import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import { fail } from '../../shared/result.js';
import { eventView } from './log.js';
import type { StoredEvent } from './model.js';
import type { EventStreamHub, StreamSink } from './stream.js';

const StreamQuery = Type.Object(
  {
    after: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Resume after this sequence (SSE clients may send `Last-Event-ID` instead).',
      }),
    ),
  },
  { additionalProperties: false },
);

/** The resume point: `after`, else SSE's Last-Event-ID (the sequence we sent as `id:`). */
function resumePoint(request: FastifyRequest): number | undefined {
  const { after } = request.query as { after?: number };
  if (after !== undefined) return after;
  const header = request.headers['last-event-id'];
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,16}$/.test(text) || Number(text) > Number.MAX_SAFE_INTEGER)
    unwrap(fail('invalid_request', 'Last-Event-ID must be a sequence we sent.', { field: 'last-event-id' }));
  return Number(text);
}

function full(): never {
  return unwrap(
    fail('service_unavailable', 'This process holds as many streams as it may; try another or later.'),
  );
}

const DROP_CLOSE_CODE = 4008;

/**
 * GET /v1/events/stream (Server-Sent Events) and GET /v1/events/ws (WebSocket): the channel's events
 * live, authenticated like every channel call before anything is sent (docs/events.md#live-stream).
 */
export function eventStreamRoutes(hub: EventStreamHub): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/events/stream',
      {
        schema: {
          operationId: 'streamEvents',
          tags: ['events'],
          summary: "The channel's events, live, as Server-Sent Events",
          description:
            'Each event is sent as `id: <sequence>`, `event: <type>`, `data: <event JSON>`. Reconnect with ' +
            '`Last-Event-ID` (or `?after=`) to get every event after it. A comment line is sent as a heartbeat. ' +
            'A client that does not keep up gets `event: dropped` with the sequence to resume after, and is closed.',
          querystring: StreamQuery,
          response: {
            200: {
              description: 'An endless `text/event-stream`.',
              content: { 'text/event-stream': { schema: Type.String() } },
            },
            ...errorResponses(400, 401, 503),
          },
        },
      },
      async (request, reply) => {
        const channel = authenticatedChannel(request);
        const after = resumePoint(request);
        if (!hub.hasRoom(channel.id)) full();
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
          'x-request-id': String(request.id),
        });
        res.write(': connected\n\n');
        const sink = sseSink(channel.id, reply);
        // Listened for before the backlog is read: a peer gone meanwhile must not stay counted.
        let gone = false;
        let detach: (() => void) | null = null;
        res.on('close', () => {
          gone = true;
          detach?.();
        });
        detach = await hub.attach(sink, after).catch((err: unknown) => {
          request.log.warn({ err }, 'stream could not start');
          res.end();
          return null;
        });
        if (gone || res.destroyed) detach?.();
      },
    );

    app.get(
      '/v1/events/ws',
      {
        websocket: true,
        schema: {
          operationId: 'streamEventsWebSocket',
          tags: ['events'],
          summary: "The channel's events, live, over a WebSocket",
          description:
            'Sign the upgrade request like any GET. Each event is one text message with the event JSON; ' +
            'resume with `?after=<sequence>`. Pings are sent as heartbeats. A client that does not keep up is ' +
            `closed with code ${DROP_CLOSE_CODE} and the reason \`resume_after=<sequence>\`.`,
          querystring: StreamQuery,
          response: { ...errorResponses(400, 401, 503) },
        },
      },
      (socket: WebSocket, request) => {
        const channel = authenticatedChannel(request);
        const after = (request.query as { after?: number }).after;
        if (!hub.hasRoom(channel.id)) {
          socket.close(1013, 'try again later');
          return;
        }
        let alive = true;
        socket.on('pong', () => {
          alive = true;
        });
        const sink: StreamSink = {
          channelId: channel.id,
          push: (e) => socket.send(JSON.stringify(eventView(e))),
          buffered: () => socket.bufferedAmount,
          heartbeat: () => {
            if (!alive) return socket.terminate();
            alive = false;
            socket.ping();
          },
          drop: (why, resumeAfter) => {
            socket.close(why === 'shutdown' ? 1001 : DROP_CLOSE_CODE, `resume_after=${resumeAfter}`);
            setTimeout(() => socket.terminate(), 5_000).unref();
          },
        };
        let gone = false;
        let detach: (() => void) | null = null;
        socket.on('close', () => {
          gone = true;
          detach?.();
        });
        hub.attach(sink, after).then(
          (d) => {
            detach = d;
            if (gone || socket.readyState !== socket.OPEN) d();
          },
          (err: unknown) => {
            request.log.warn({ err }, 'stream could not start');
            socket.close(1011, 'internal error');
          },
        );
      },
    );
  };
}

function sseSink(channelId: string, reply: FastifyReply): StreamSink {
  const res = reply.raw;
  return {
    channelId,
    push: (e: StoredEvent) => {
      res.write(`id: ${e.sequence}\nevent: ${e.type}\ndata: ${JSON.stringify(eventView(e))}\n\n`);
    },
    buffered: () => res.writableLength,
    heartbeat: () => {
      res.write(': heartbeat\n\n');
    },
    drop: (why, resumeAfter) => {
      res.end(`event: dropped\ndata: ${JSON.stringify({ reason: why, resume_after: resumeAfter })}\n\n`);
      setTimeout(() => res.destroy(), 5_000).unref();
    },
  };
}
