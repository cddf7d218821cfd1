import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import {
  authenticatedSeller,
  clearedSessionCookie,
  sellerToken,
  sessionCookie,
} from '../../http/seller-auth.js';
import {
  ChannelParams,
  Credentials,
  LoggedOut,
  LoginAnswer,
  SellerAccountView,
  SessionView,
} from './login-model.js';
import type { SellerLogins } from './logins.js';

const tags = ['h5 seller page'];

/** Registration and login on an h5 channel's seller page: no session yet. */
export function sellerLoginRoutes(logins: SellerLogins): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/h5/v1/channels/:channel_id/sellers',
      {
        // Each sign-up costs an Argon2 hash: without the rate limiter it fails closed.
        config: { takesCards: true },
        schema: {
          operationId: 'h5RegisterSeller',
          tags,
          summary: 'Register a seller',
          description:
            'A new seller of this h5 channel, with a mainland phone number and a password of at least 10 characters. Then sign in.',
          params: ChannelParams,
          body: Credentials,
          response: {
            201: answer(SellerAccountView, 'The seller, registered.'),
            ...errorResponses(400, 404, 409, 413, 415),
          },
        },
      },
      async (request, reply) =>
        reply.status(201).send(unwrap(await logins.register(request.params.channel_id, request.body))),
    );
    app.post(
      '/h5/v1/channels/:channel_id/sessions',
      {
        // Password guesses must not go unlimited: without the rate limiter it fails closed.
        config: { takesCards: true },
        schema: {
          operationId: 'h5SignIn',
          tags,
          summary: 'Sign in',
          description:
            'Sets the session cookie (HttpOnly, Secure, SameSite=Strict) and answers the session with its CSRF token and, for app shells, its bearer token. A wrong password and an unknown phone get the same answer; 5 wrong passwords in 15 minutes lock the login for 15 minutes (429).',
          params: ChannelParams,
          body: Credentials,
          response: {
            201: answer(LoginAnswer, 'Signed in.'),
            ...errorResponses(400, 401, 404, 413, 415, 429),
          },
        },
      },
      async (request, reply) => {
        const session = unwrap(await logins.login(request.params.channel_id, request.body));
        return reply
          .status(201)
          .header('set-cookie', sessionCookie(session.token, logins.maxAgeS))
          .header('cache-control', 'no-store')
          .send(session);
      },
    );
  };
}

/** The signed-in seller's own session. */
export function sellerSessionRoutes(logins: SellerLogins): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/h5/v1/session',
      {
        schema: {
          operationId: 'h5GetSession',
          tags,
          summary: 'The current session',
          description: 'Who is signed in, until when, and the CSRF token (the page cannot read the cookie).',
          response: { 200: answer(SessionView, 'The session.') },
        },
      },
      async (request, reply) =>
        reply
          .header('cache-control', 'no-store')
          .send(await logins.describe(authenticatedSeller(request), sellerToken(request))),
    );
    app.delete(
      '/h5/v1/session',
      {
        schema: {
          operationId: 'h5SignOut',
          tags,
          summary: 'Sign out',
          description: 'Ends the session (its token stops working at once) and clears the cookie.',
          response: { 200: answer(LoggedOut, 'Signed out.'), ...errorResponses(403) },
        },
      },
      async (request, reply) => {
        await logins.logout(authenticatedSeller(request));
        return reply.header('set-cookie', clearedSessionCookie()).send({ signed_out: true as const });
      },
    );
  };
}
