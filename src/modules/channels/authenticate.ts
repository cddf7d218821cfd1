import { SIGNING_HEADERS, sign } from '../../client/signing.js';
import type { Clock } from '../../shared/clock.js';
import { safeEqual } from '../../shared/crypto.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Committer } from '../../storage/group-commit.js';
import type { AuthError } from './errors.js';
import type { ChannelView } from './model.js';
import { claimNonce } from './nonces.js';
import type { ChannelService } from './service.js';

export interface SignedRequest {
  headers: Record<string, string | string[] | undefined>;
  method: string;
  /** Path and query as on the request line. */
  url: string;
  rawBody: Buffer | undefined;
}

export interface AuthenticatorDeps {
  committer: Committer;
  channels: ChannelService;
  clock: Clock;
  windowS: number;
}

const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;

function header(req: SignedRequest, name: string): string | undefined {
  const value = req.headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.length === 0 ? undefined : text;
}

const missing = (name: string): AuthError =>
  fail('auth_header_invalid', `The ${name} header is required on channel API calls.`, { field: name });

/**
 * Verifies a signed channel call (docs/signing.md). Checks are ordered cheapest first and nothing is
 * written until the signature has been proven, so a refused request leaves no trace; only then is the
 * nonce recorded, for twice the window, which makes a replay inside the window fail.
 */
export function createAuthenticator({ committer, channels, clock, windowS }: AuthenticatorDeps) {
  return async function authenticate(req: SignedRequest): Promise<Result<ChannelView, AuthError['code']>> {
    const channelId = header(req, SIGNING_HEADERS.channel);
    if (channelId === undefined) return missing(SIGNING_HEADERS.channel);
    const timestampText = header(req, SIGNING_HEADERS.timestamp);
    if (timestampText === undefined) return missing(SIGNING_HEADERS.timestamp);
    const nonce = header(req, SIGNING_HEADERS.nonce);
    if (nonce === undefined) return missing(SIGNING_HEADERS.nonce);
    const signature = header(req, SIGNING_HEADERS.signature);
    if (signature === undefined) return missing(SIGNING_HEADERS.signature);

    if (!TIMESTAMP.test(timestampText)) {
      return fail('auth_header_invalid', 'The timestamp must be Unix time in whole seconds.', {
        field: SIGNING_HEADERS.timestamp,
      });
    }
    if (!NONCE.test(nonce)) {
      return fail('auth_header_invalid', 'The nonce must be 16 to 64 characters of A-Z, a-z, 0-9, _ and -.', {
        field: SIGNING_HEADERS.nonce,
      });
    }
    if (!SIGNATURE.test(signature)) {
      return fail('auth_header_invalid', 'The signature must be 64 lower-case hex characters.', {
        field: SIGNING_HEADERS.signature,
      });
    }
    const now = clock.now();
    const timestamp = Number(timestampText);
    if (Math.abs(now / 1000 - timestamp) > windowS) {
      return fail(
        'timestamp_out_of_window',
        `The timestamp is more than ${windowS} s from our clock (now ${Math.floor(now / 1000)}). Check the caller's clock.`,
        { field: SIGNING_HEADERS.timestamp },
      );
    }

    const creds = await channels.credentials(channelId);
    if (!creds) return fail('channel_unknown', 'No channel has this id.', { field: SIGNING_HEADERS.channel });
    if (creds.channel.status !== 'active') {
      return fail('channel_disabled', 'This channel is disabled; contact the operator.', {
        field: SIGNING_HEADERS.channel,
      });
    }

    const signed = {
      timestamp,
      nonce,
      method: req.method,
      pathWithQuery: req.url,
      body: req.rawBody ?? Buffer.alloc(0),
    };
    // During a rotation's overlap the secret before it verifies too (docs/signing.md#rotation).
    const matches =
      safeEqual(sign(creds.secret, signed), signature) ||
      (creds.previous !== undefined &&
        creds.previous.until > now &&
        safeEqual(sign(creds.previous.secret, signed), signature));
    if (!matches) {
      return fail('signature_invalid', 'The signature does not match the request. See docs/signing.md.', {
        field: SIGNING_HEADERS.signature,
      });
    }

    if (!(await committer.run((trx) => claimNonce(trx, channelId, nonce, now, 2 * windowS * 1000)))) {
      return fail('nonce_reused', 'This nonce was used before; every request needs a new one.', {
        field: SIGNING_HEADERS.nonce,
      });
    }
    return ok(creds.channel);
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
