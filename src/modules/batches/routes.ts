import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { toApiError, unwrap } from '../../http/result.js';
import { fail } from '../../shared/result.js';
import { BatchParams, BatchView, ReportQuery, UploadQuery } from './model.js';
import type { BatchService } from './service.js';

/** The header a multipart upload's signature covers in place of its body (docs/signing.md#batches). */
export const CONTENT_SHA256_HEADER = 'x-recard-content-sha256';
const SHA256_HEX = /^[0-9a-f]{64}$/;

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export function batchRoutes(service: BatchService, limits: { maxBytes: number }): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['batches'];
    // Streamed: the file part is read as it arrives, never buffered whole (limits below are hard).
    await app.register(multipart, {
      limits: { files: 1, fields: 0, parts: 1, fileSize: limits.maxBytes + 1, headerPairs: 100 },
      throwFileSizeLimit: false,
    });
    // The signature of a multipart upload covers the file's declared SHA-256 instead of the body
    // bytes, so it is checked before the file is read; the digest is checked as the file streams.
    app.addHook('onRequest', async (request) => {
      if (!request.headers['content-type']?.toLowerCase().startsWith('multipart/form-data')) return;
      const declared = request.headers[CONTENT_SHA256_HEADER];
      if (typeof declared !== 'string' || !SHA256_HEX.test(declared))
        throw toApiError(
          fail(
            'invalid_request',
            'A batch upload needs X-Recard-Content-SHA256: the lower-case hex SHA-256 of the file, signed in place of the body.',
            { field: 'X-Recard-Content-SHA256' },
          ),
        );
      request.signedBody = Buffer.from(declared, 'utf8');
    });

    app.post(
      '/v1/batches',
      {
        config: { takesCards: true },
        schema: {
          operationId: 'uploadBatch',
          tags,
          summary: 'Upload a batch card file',
          description:
            'A `multipart/form-data` body with one file part named `file`: CSV with a header, plain text (one ' +
            '`number secret` per line; give `card_type` and `declared_face_value`), or XLSX. UTF-8 or GB18030. ' +
            'The parameters go in the query string and the signature covers `X-Recard-Content-SHA256` (the ' +
            "file's SHA-256) in place of the body (docs/signing.md#batches). `202` once the whole file is read " +
            'and staged (sealed); lines become orders in the background (docs/batches.md).',
          consumes: ['multipart/form-data'],
          querystring: UploadQuery,
          headers: Type.Object({
            [CONTENT_SHA256_HEADER]: Type.String({
              pattern: SHA256_HEX.source,
              description: 'Lower-case hex SHA-256 of the file bytes; signed in place of the body.',
            }),
          }),
          response: {
            200: answer(BatchView, 'The first batch of this merchant_batch_id (the same file again).'),
            202: answer(BatchView, 'The file was read whole; its lines are being turned into orders.'),
            ...errorResponses(400, 401, 409, 413, 415, 429),
          },
        },
      },
      async (request, reply) => {
        const channel = authenticatedChannel(request);
        if (!request.isMultipart())
          throw toApiError(
            fail('unsupported_media_type', 'Upload the file as multipart/form-data.', {
              field: 'content-type',
            }),
          );
        const part = await request.file();
        if (part?.fieldname !== 'file')
          throw toApiError(
            fail('invalid_request', 'The multipart body needs one file part named "file".', {
              field: 'file',
            }),
          );
        const q = request.query;
        const batch = unwrap(
          await service.upload(
            channel,
            {
              source: 'api',
              merchantBatchId: q.merchant_batch_id,
              fileName: part.filename || null,
              format: q.format,
              ...(q.encoding ? { encoding: q.encoding } : {}),
              ...(q.card_type !== undefined ? { cardType: q.card_type } : {}),
              ...(q.declared_face_value !== undefined ? { declaredFaceValue: q.declared_face_value } : {}),
              sellerId: q.seller_id ?? channel.id,
              declaredSha256: request.headers[CONTENT_SHA256_HEADER] as string,
            },
            part.file,
          ),
        );
        return reply.status(batch.created ? 202 : 200).send(batch.batch);
      },
    );

    app.get(
      '/v1/batches/:id',
      {
        schema: {
          operationId: 'getBatch',
          tags,
          summary: 'A batch and its progress',
          params: BatchParams,
          response: {
            200: answer(BatchView, 'The batch, its counts and amounts.'),
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (request) => unwrap(await service.get(authenticatedChannel(request), request.params.id)),
    );

    app.delete(
      '/v1/batches/:id',
      {
        schema: {
          operationId: 'cancelBatch',
          tags,
          summary: 'Cancel what is not yet verified',
          description:
            'Lines not yet turned into orders are cancelled, and orders still waiting for their first verification are ' +
            'rejected with reason `batch_cancelled`. An order already with the issuer goes on.',
          params: BatchParams,
          response: {
            200: answer(BatchView, 'The batch, cancelled.'),
            ...errorResponses(400, 401, 404, 409),
          },
        },
      },
      async (request) => unwrap(await service.cancel(authenticatedChannel(request), request.params.id)),
    );

    app.get(
      '/v1/batches/:id/report',
      {
        schema: {
          operationId: 'getBatchReport',
          tags,
          summary: 'The per-line report',
          description:
            'One row per line: line, masked number, status, reason, declared and actual face value, price, payout ' +
            '(docs/batches.md#report). X-Recard-Content-SHA256 and Content-Digest carry the SHA-256 of the file sent.',
          params: BatchParams,
          querystring: ReportQuery,
          produces: ['text/csv', XLSX_TYPE],
          response: {
            200: answer({ type: 'string' } as never, 'The report.'),
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (request, reply) => {
        const format = request.query.format ?? 'csv';
        const r = unwrap(await service.report(authenticatedChannel(request), request.params.id, format));
        return reply
          .type(format === 'csv' ? 'text/csv; charset=utf-8' : XLSX_TYPE)
          .header('content-disposition', `attachment; filename="${r.fileName}"`)
          .header(CONTENT_SHA256_HEADER, r.sha256)
          .header('content-digest', `sha-256=:${Buffer.from(r.sha256, 'hex').toString('base64')}:`)
          .send(r.body);
      },
    );
  };
}
