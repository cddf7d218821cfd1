import { SIGNING_HEADERS, sign, stringToSign } from '../../client/signing.js';
import type { Clock } from '../../shared/clock.js';
import { safeEqual } from '../../shared/crypto.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Committer } from '../../storage/group-commit.js';
import type { AuthError } from './errors.js';
import { ipAllowed } from './limits.js';
import type { ActiveKey, ChannelView, SignatureScheme } from './model.js';
import { claimNonce } from './nonces.js';
import type { ChannelService } from './service.js';

export interface SignedRequest {
  headers: Record<string, string | string[] | undefined>;
  method: string;
  /** Path and query as on the request line. */
  url: string;
  rawBody: Buffer | undefined;
  /** The client's address (behind RECARD_TRUST_PROXY, the forwarded one). */
  ip?: string | undefined;
  /** SHA-256 (lower-case hex) of the client certificate, when one came over mutual TLS and our CA signed it. */
  clientCertSha256?: string | undefined;
}

/** What proved a call: which credential signed it (some routes take only the current ones). */
export interface AuthenticatedCall {
  channel: ChannelView;
  /**
   * `secret`: the current API secret; `previous_secret`: the one before a rotation, during its
   * overlap; `key`: a registered public key (its id in `keyId`).
   */
  via: 'secret' | 'previous_secret' | 'key';
  keyId?: string;
}

/** Proves a signature by a registered key (RSA-SHA256, SM2-SM3), possibly off the event loop. */
export type KeyVerifier = (
  key: ActiveKey,
  message: Buffer,
  signatureB64: string,
  channelId: string,
) => Promise<boolean>;
/** Checks an OAuth access token was issued by us to this channel and is still valid. */
export type TokenVerifier = (
  token: string,
  channelId: string,
) => Promise<Result<void, 'token_invalid' | 'token_expired'>>;

export interface AuthenticatorDeps {
  committer: Committer;
  channels: ChannelService;
  clock: Clock;
  windowS: number;
  verifyKey: KeyVerifier;
  verifyToken: TokenVerifier;
  /** HMAC-SM3 (hex) of a message, for the GM suite's symmetric scheme. */
  hmacSm3: (secret: string, message: Buffer) => string;
  /** Schemes the crypto suite accepts at all (docs/crypto-suites.md); a channel's own list narrows it. */
  suiteSchemes: readonly SignatureScheme[];
}

const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const TIMESTAMP = /^\d{1,12}$/;
const HEX_SIGNATURE = /^[0-9a-f]{64}$/;
// Base64 of an RSA (up to 8192 bit) or DER SM2 signature.
const B64_SIGNATURE = /^[A-Za-z0-9+/]{40,1400}={0,2}$/;
const KEY_ID = /^ck_[0-9a-z]{26}$/;
const SCHEMES = new Set<string>(['HMAC-SHA256', 'RSA-SHA256', 'SM2-SM3', 'HMAC-SM3']);
const isHmac = (s: SignatureScheme) => s === 'HMAC-SHA256' || s === 'HMAC-SM3';

function header(req: SignedRequest, name: string): string | undefined {
  const value = req.headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.length === 0 ? undefined : text;
}

const badSignature = (): AuthError =>
  fail('signature_invalid', 'The signature does not match the request. See docs/signing.md.', {
    field: SIGNING_HEADERS.signature,
  });

/** Keys of one scheme tried without `X-Recard-Key-Id`: the two of a rotation. */
const MAX_UNNAMED_KEYS = 2;

const missing = (name: string): AuthError =>
  fail('auth_header_invalid', `The ${name} header is required on channel API calls.`, { field: name });

/**
 * Verifies a signed channel call (docs/signing.md). Checks are ordered cheapest first and nothing is
 * written until the signature has been proven, so a refused request leaves no trace; only then is the
 * nonce recorded, for twice the window, which makes a replay inside the window fail.
 */
export function createAuthenticator(deps: AuthenticatorDeps) {
  const { committer, channels, clock, windowS, verifyKey, verifyToken, hmacSm3, suiteSchemes } = deps;
  return async function authenticate(
    req: SignedRequest,
  ): Promise<Result<AuthenticatedCall, AuthError['code']>> {
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
    const schemeText = header(req, SIGNING_HEADERS.signType) ?? 'HMAC-SHA256';
    if (!SCHEMES.has(schemeText)) {
      return fail(
        'auth_header_invalid',
        'The sign type must be one of HMAC-SHA256, RSA-SHA256, SM2-SM3 or HMAC-SM3.',
        { field: SIGNING_HEADERS.signType },
      );
    }
    const scheme = schemeText as SignatureScheme;
    if (isHmac(scheme) ? !HEX_SIGNATURE.test(signature) : !B64_SIGNATURE.test(signature)) {
      return fail(
        'auth_header_invalid',
        isHmac(scheme)
          ? 'An HMAC signature must be 64 lower-case hex characters.'
          : 'An RSA or SM2 signature must be the base64 of its bytes (docs/signing.md#schemes).',
        { field: SIGNING_HEADERS.signature },
      );
    }
    const keyId = header(req, SIGNING_HEADERS.keyId);
    if (keyId !== undefined && !KEY_ID.test(keyId)) {
      return fail('auth_header_invalid', 'The key id must be a registered key id (ck_…).', {
        field: SIGNING_HEADERS.keyId,
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

    if (!creds.channel.auth.schemes.includes(scheme) || !suiteSchemes.includes(scheme)) {
      return fail(
        'sign_type_not_allowed',
        // Not which schemes it does use: the caller is not proven yet.
        `This channel does not sign with ${scheme} (docs/signing.md#schemes).`,
        { field: SIGNING_HEADERS.signType },
      );
    }
    const bound = creds.channel.auth.client_cert_sha256;
    if (bound !== null && req.clientCertSha256 !== bound) {
      return fail(
        'client_certificate_required',
        'This channel is bound to a client certificate: call over mutual TLS with it.',
        { field: 'tls' },
      );
    }

    const signed = {
      timestamp,
      nonce,
      method: req.method,
      pathWithQuery: req.url,
      body: req.rawBody ?? Buffer.alloc(0),
    };
    let matches: boolean;
    let via: AuthenticatedCall['via'] = 'secret';
    let keyUsed: string | undefined;
    if (isHmac(scheme)) {
      const mac = (secret: string) =>
        scheme === 'HMAC-SHA256' ? sign(secret, signed) : hmacSm3(secret, stringToSign(signed));
      // During a rotation's overlap the secret before it verifies too (docs/signing.md#rotation).
      matches = safeEqual(mac(creds.secret), signature);
      if (!matches && creds.previous !== undefined && creds.previous.until > now) {
        matches = safeEqual(mac(creds.previous.secret), signature);
        via = 'previous_secret';
      }
    } else {
      via = 'key';
      // Every active key of the scheme verifies during a rotation; a key id narrows it to one.
      const candidates = creds.keys.filter(
        (k) => k.algorithm === scheme && (keyId === undefined || k.id === keyId),
      );
      // No key to try answers like a wrong signature: an unproven caller learns nothing of a
      // channel's keys. More than two keys (a rotation has two) must be named, so one call costs
      // at most two verifications.
      if (candidates.length === 0) return badSignature();
      if (candidates.length > MAX_UNNAMED_KEYS) {
        return fail(
          'auth_header_invalid',
          `This channel has more than ${MAX_UNNAMED_KEYS} active ${scheme} keys: name the one that signed in X-Recard-Key-Id.`,
          { field: SIGNING_HEADERS.keyId },
        );
      }
      const message = stringToSign(signed);
      matches = false;
      for (const key of candidates) {
        if (await verifyKey(key, message, signature, creds.channel.id)) {
          matches = true;
          keyUsed = key.id;
          break;
        }
      }
    }
    if (!matches) return badSignature();

    if (creds.channel.auth.require_token) {
      const authorization = header(req, 'authorization') ?? '';
      const token = /^bearer [A-Za-z0-9._~+/-]+=*$/i.test(authorization) ? authorization.slice(7) : undefined;
      if (token === undefined) {
        return fail(
          'token_invalid',
          'This channel sends an OAuth access token from POST /oauth/token as "Authorization: Bearer <token>".',
          { field: 'authorization' },
        );
      }
      const checked = await verifyToken(token, channelId);
      if (!checked.ok) return checked;
    }

    if (!(await committer.run((trx) => claimNonce(trx, channelId, nonce, now, 2 * windowS * 1000)))) {
      return fail('nonce_reused', 'This nonce was used before; every request needs a new one.', {
        field: SIGNING_HEADERS.nonce,
      });
    }

    // Where the channel may call from, once the call is proven its own. The nonce is spent first:
    // a call captured on its way from a refused address cannot be replayed from an allowed one.
    if (req.ip !== undefined && !ipAllowed(creds.channel.limits.ip_allowlist, req.ip)) {
      return fail('ip_not_allowed', `Calls of this channel are not accepted from ${req.ip}.`);
    }
    return ok({ channel: creds.channel, via, ...(keyUsed ? { keyId: keyUsed } : {}) });
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
