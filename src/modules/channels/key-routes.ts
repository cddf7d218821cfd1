import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { readBefore } from '../../http/admin-auth.js';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import type { KeyRegistry } from './keys.js';
import { ChannelKeyList, ChannelKeyParams, ChannelKeyView, ChannelParams, NewChannelKey } from './model.js';

const ADD_DESCRIPTION =
  'Registers a public key for RSA-SHA256 (2048–4096 bit, exponent 65537) or SM2-SM3 request signatures (docs/signing.md#schemes). ' +
  'A key is registered on one channel only. A channel registers its next key with a call signed by a key it has; the first comes from the operator. ' +
  'Several keys may be active at once, for a rotation: register the new key, sign with it, revoke the old one. ' +
  'The same key again answers 200 with the registration there is.';

/** /admin/v1/channels/{id}/keys: the operator registers and revokes a channel's public keys. */
export function channelKeyAdminRoutes(keys: KeyRegistry): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: channels'];
    app.get(
      '/admin/v1/channels/:id/keys',
      {
        schema: {
          operationId: 'adminListChannelKeys',
          tags,
          summary: "A channel's public keys",
          params: ChannelParams,
          response: { 200: answer(ChannelKeyList, 'Every key, newest first.'), ...errorResponses(401, 404) },
        },
      },
      async (request) => ({ data: unwrap(await keys.list(request.params.id)) }),
    );
    app.post(
      '/admin/v1/channels/:id/keys',
      {
        schema: {
          operationId: 'adminAddChannelKey',
          tags,
          summary: 'Register a public key for a channel',
          description: ADD_DESCRIPTION,
          params: ChannelParams,
          body: NewChannelKey,
          response: {
            200: answer(ChannelKeyView, 'This key was registered already.'),
            201: answer(ChannelKeyView, 'The key, now active.'),
            ...errorResponses(400, 401, 404, 409, 413, 415),
          },
        },
      },
      async (request, reply) => {
        const added = unwrap(await keys.add(request.params.id, request.body.public_key));
        return reply.status(added.created ? 201 : 200).send(added.key);
      },
    );
    app.delete(
      '/admin/v1/channels/:id/keys/:key_id',
      {
        schema: {
          operationId: 'adminRevokeChannelKey',
          tags,
          summary: "Revoke a channel's public key",
          description: 'Signatures by the key stop verifying at once (within 1 s in other processes).',
          params: ChannelKeyParams,
          response: { 200: answer(ChannelKeyView, 'The key, revoked.'), ...errorResponses(401, 404) },
        },
        config: {
          auditBefore: readBefore((p: { id: string; key_id: string }) => keys.get(p.id, p.key_id)),
        },
      },
      async (request) => unwrap(await keys.revoke(request.params.id, request.params.key_id)),
    );
  };
}

/** /v1/channel/keys: a channel rotates its own key, signing the registration with the key it has. */
export function channelKeyRoutes(keys: KeyRegistry): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['channel'];
    app.get(
      '/v1/channel/keys',
      {
        schema: {
          operationId: 'listChannelKeys',
          tags,
          summary: "The calling channel's public keys",
          response: { 200: answer(ChannelKeyList, 'Every key, newest first.'), ...errorResponses(401) },
        },
      },
      async (request) => ({ data: unwrap(await keys.list(authenticatedChannel(request).id)) }),
    );
    app.post(
      '/v1/channel/keys',
      {
        schema: {
          operationId: 'addChannelKey',
          tags,
          summary: 'Register the next public key',
          description: ADD_DESCRIPTION,
          body: NewChannelKey,
          response: {
            200: answer(ChannelKeyView, 'This key was registered already.'),
            201: answer(ChannelKeyView, 'The key, now active.'),
            ...errorResponses(400, 401, 403, 409, 413, 415),
          },
        },
        // Signed by a registered key: a leaked HMAC secret must not add a key that outlives it.
        config: { credentials: 'key' },
      },
      async (request, reply) => {
        const added = unwrap(await keys.add(authenticatedChannel(request).id, request.body.public_key));
        return reply.status(added.created ? 201 : 200).send(added.key);
      },
    );
    app.delete(
      '/v1/channel/keys/:key_id',
      {
        schema: {
          operationId: 'revokeChannelKey',
          tags,
          summary: 'Revoke one of the calling channel’s keys',
          params: Type.Object({ key_id: Type.String({ pattern: '^ck_[0-9a-z]{26}$' }) }),
          response: { 200: answer(ChannelKeyView, 'The key, revoked.'), ...errorResponses(401, 403, 404) },
        },
        config: { credentials: 'current' },
      },
      async (request) => unwrap(await keys.revoke(authenticatedChannel(request).id, request.params.key_id)),
    );
  };
}
