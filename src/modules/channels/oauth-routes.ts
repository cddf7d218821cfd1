import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { toApiError } from '../../http/error-handler.js';
import { answer } from '../../http/operation.js';
import type { OauthService } from './oauth.js';

const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ description: 'Always `client_credentials`.' }),
    client_id: Type.Optional(
      Type.String({ maxLength: 64, description: 'The channel id, when not sent by HTTP Basic.' }),
    ),
    client_secret: Type.Optional(
      Type.String({ maxLength: 256, description: 'The channel API secret, when not sent by HTTP Basic.' }),
    ),
    scope: Type.Optional(
      Type.String({ maxLength: 256, description: 'Ignored: a token covers the channel API.' }),
    ),
  },
  { additionalProperties: true },
);
const TokenResponse = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the token expires.' }),
  },
  { title: 'AccessToken' },
);
/** RFC 6749 §5.2: what OAuth clients parse, so this endpoint's errors take this shape, not ours. */
const OauthError = Type.Object(
  {
    error: Type.String({ description: '`invalid_request`, `invalid_client` or `unsupported_grant_type`.' }),
    error_description: Type.String(),
    request_id: Type.String(),
  },
  { title: 'OAuthError' },
);
const Jwk = Type.Object(
  {
    kty: Type.String(),
    kid: Type.String(),
    alg: Type.String(),
    use: Type.String(),
    crv: Type.String(),
    x: Type.String(),
    y: Type.String(),
  },
  { title: 'JsonWebKey' },
);

/** `Authorization: Basic` with the client id and secret form-urlencoded first (RFC 6749 §2.3.1). */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return undefined;
  }
}

type OauthCode = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type';

/** An RFC 6749 §5.2 error answer; a refused client gets 401 and a Basic challenge (it may have used Basic). */
function deny(request: FastifyRequest, reply: FastifyReply, code: OauthCode, description: string) {
  if (code === 'invalid_client') void reply.header('www-authenticate', 'Basic realm="recard"');
  return reply
    .status(code === 'invalid_client' ? 401 : 400)
    .header('cache-control', 'no-store')
    .send({ error: code, error_description: description, request_id: String(request.id) });
}

/** POST /oauth/token (client credentials) and GET /.well-known/jwks.json: public, outside the signed API. */
export function oauthRoutes(oauth: OauthService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    // The framework's refusals (validation, media type, size) in the same shape; anything else is ours.
    app.setErrorHandler((err: unknown, request, reply) => {
      const known = toApiError(err);
      const status = known?.status ?? (err as FastifyError)?.statusCode ?? 500;
      if (status >= 500) throw err;
      const description =
        status === 415
          ? 'Send the token request as application/x-www-form-urlencoded.'
          : (known?.message ?? 'The token request is not valid.');
      // 413 and 415 keep their status; every other refusal of the framework is a bad request.
      return deny(request, reply, 'invalid_request', description).status(
        status === 413 || status === 415 ? status : 400,
      );
    });

    app.post(
      '/oauth/token',
      {
        schema: {
          operationId: 'issueAccessToken',
          tags: ['oauth'],
          summary: 'Get an access token (OAuth 2.0 client credentials)',
          description:
            'RFC 6749 §4.4. The client id is the channel id, the secret its API secret, sent by HTTP Basic ' +
            '(preferred) or in the form. The token is an ES256 JWT for the channel API (docs/signing.md#oauth). ' +
            'Errors here take the RFC 6749 §5.2 shape.',
          consumes: ['application/x-www-form-urlencoded'],
          body: TokenRequest,
          response: {
            200: answer(TokenResponse, 'A bearer token for the channel API.'),
            400: answer(OauthError, 'invalid_request or unsupported_grant_type.'),
            401: answer(OauthError, 'invalid_client: unknown client or wrong secret.'),
            413: answer(OauthError, 'The body is larger than 4 KiB.'),
            415: answer(OauthError, 'The body is not application/x-www-form-urlencoded.'),
          },
        },
      },
      async (request, reply) => {
        const body = request.body;
        if (body.grant_type !== 'client_credentials')
          return deny(
            request,
            reply,
            'unsupported_grant_type',
            'Only grant_type=client_credentials is supported.',
          );
        const basic = basicCredentials(request.headers.authorization);
        if (basic && (body.client_id !== undefined || body.client_secret !== undefined))
          return deny(
            request,
            reply,
            'invalid_request',
            'Send client credentials one way only: Basic or the form.',
          );
        const id = basic?.id ?? body.client_id;
        const secret = basic?.secret ?? body.client_secret;
        if (!id || !secret)
          return deny(request, reply, 'invalid_client', 'Client authentication is required (HTTP Basic).');
        const issued = await oauth.issue(id, secret);
        if (!issued.ok) return deny(request, reply, 'invalid_client', issued.message);
        void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        return issued.value;
      },
    );

    app.get(
      '/.well-known/jwks.json',
      {
        schema: {
          operationId: 'getJwks',
          tags: ['oauth'],
          summary: 'Keys our access tokens are signed with (RFC 7517)',
          response: {
            200: answer(Type.Object({ keys: Type.Array(Jwk) }), 'The published keys, newest first.'),
          },
        },
      },
      async (_request, reply) => {
        void reply.header('cache-control', 'public, max-age=60');
        // Our keys are all EC P-256 signing keys, so every member the schema names is there.
        return (await oauth.jwks()) as { keys: Static<typeof Jwk>[] };
      },
    );
  };
}
