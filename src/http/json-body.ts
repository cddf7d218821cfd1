import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import sjson from 'secure-json-parse';
import { ApiError } from '../shared/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body bytes exactly as received; what request signatures cover. */
    rawBody?: Buffer;
    /**
     * What the signature covers in place of a body that is streamed, not buffered (a batch upload:
     * its declared SHA-256, docs/signing.md#batches); never decoded as JSON.
     */
    signedBody?: Buffer;
  }
}

/**
 * JSON bodies are kept raw by the parser and decoded only after authentication, so that the
 * signature is checked over the exact bytes and an unauthenticated caller learns nothing from
 * how we parse. Any other content type gets 415.
 */
export function installRawJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    request.rawBody = body;
    done(null, undefined);
  });
}

/** A preValidation hook: decodes the raw body (proto-poisoning safe) into `request.body`. */
export async function decodeJsonBody(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const raw = request.rawBody;
  if (raw === undefined) return;
  if (raw.length === 0)
    throw new ApiError('malformed_json', 'The request body is empty; send a JSON document.');
  try {
    request.body = sjson.parse(raw.toString('utf8'), undefined, {
      protoAction: 'error',
      constructorAction: 'error',
    });
  } catch {
    throw new ApiError('malformed_json', 'The request body is not valid JSON.');
  }
}
