import {
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { Clock } from '../../shared/clock.js';
import { type Keyring, open, randomToken, seal } from '../../shared/crypto.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { OauthKeysTable } from '../../storage/schema.js';
import { secretMatches } from './model.js';
import type { ChannelService } from './service.js';

export interface OauthSettings {
  /** `iss` of our tokens. */
  issuer: string;
  /** `aud` a token must carry to be accepted by the channel API. */
  audience: string;
  tokenTtlS: number;
  /** A signing key signs for this long, then a new one takes over (both stay published). */
  keyRotationS: number;
}

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

const ALG = 'ES256';
type SigningKey = Awaited<ReturnType<typeof importJWK>>;
// The JWKS a process holds is re-read this often, and at once when a token names a key it lacks.
const JWKS_TTL_MS = 1_000;
const keyContext = (kid: string) => `oauth_key:${kid}`;

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) for channels: the client is the channel, its secret
 * the API secret. Access tokens are ES256 JWTs signed with keys kept in the database (private half
 * sealed), so every process signs and verifies with the same set; keys rotate on a timetable and stay
 * published at /.well-known/jwks.json until the last token one signed has expired.
 */
export function createOauthService(deps: {
  db: Db;
  keyring: Keyring;
  clock: Clock;
  channels: ChannelService;
  settings: OauthSettings;
}) {
  const { db, keyring, clock, channels, settings } = deps;
  let signer: { kid: string; key: SigningKey; signUntil: number } | null = null;
  let published: { keys: JWK[]; at: number } | null = null;

  async function publishedKeys(force = false): Promise<JWK[]> {
    const now = clock.now();
    if (!force && published && now - published.at < JWKS_TTL_MS) return published.keys;
    const rows = await db
      .selectFrom('oauth_keys')
      .select(['public_jwk'])
      .where('publish_until', '>', now)
      .orderBy('created_at', 'desc')
      .execute();
    published = { keys: rows.map((r) => JSON.parse(r.public_jwk) as JWK), at: now };
    return published.keys;
  }

  async function signingKey(): Promise<{ kid: string; key: SigningKey }> {
    const now = clock.now();
    if (signer && signer.signUntil > now) return signer;
    // Another process may have made the current key already: use it rather than add one.
    let row = await db
      .selectFrom('oauth_keys')
      .selectAll()
      .where('sign_until', '>', now)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (!row) row = await newKey(now);
    const jwk = JSON.parse(open(keyring, row.private_sealed, keyContext(row.kid))) as JWK;
    signer = { kid: row.kid, key: await importJWK(jwk, ALG), signUntil: row.sign_until };
    return signer;
  }

  async function newKey(now: number): Promise<OauthKeysTable> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true });
    const kid = `k_${now.toString(36)}_${randomToken(6)}`;
    const pub = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' };
    const priv = { ...(await exportJWK(privateKey)), kid, alg: ALG };
    const signUntil = now + settings.keyRotationS * 1000;
    const row: OauthKeysTable = {
      kid,
      alg: ALG,
      public_jwk: JSON.stringify(pub),
      private_sealed: seal(keyring, JSON.stringify(priv), keyContext(kid)),
      created_at: now,
      sign_until: signUntil,
      // A token signed in the key's last second is valid for tokenTtlS more; a minute of slack for clocks.
      publish_until: signUntil + (settings.tokenTtlS + 60) * 1000,
    };
    await db.insertInto('oauth_keys').values(row).execute();
    // Keys nobody can verify with any more are of no use.
    await db
      .deleteFrom('oauth_keys')
      .where('publish_until', '<', now - 86_400_000)
      .execute();
    published = null;
    return row;
  }

  return {
    /** Client authentication, then a token. A wrong secret and an unknown client answer the same. */
    async issue(clientId: string, clientSecret: string): Promise<Result<IssuedToken, 'invalid_client'>> {
      const creds = /^ch_[0-9a-z]{26}$/.test(clientId) ? await channels.credentials(clientId) : undefined;
      const now = clock.now();
      const matches = creds !== undefined && secretMatches(creds, clientSecret, now);
      // Only channels whose calls need a token get one: for the others it would be a credential
      // with no use but to be stolen.
      if (!creds || !matches || creds.channel.status !== 'active' || !creds.channel.auth.require_token)
        return fail('invalid_client', 'Client authentication failed.', { field: 'client_id' });
      const { kid, key } = await signingKey();
      const iat = Math.floor(now / 1000);
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: ALG, kid, typ: 'at+jwt' })
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        .setSubject(clientId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + settings.tokenTtlS)
        .setJti(randomToken(12))
        .sign(key);
      return ok({ access_token: token, token_type: 'Bearer', expires_in: settings.tokenTtlS });
    },

    /** The public keys tokens may be signed with (RFC 7517). */
    async jwks(): Promise<{ keys: JWK[] }> {
      return { keys: await publishedKeys() };
    },

    async verify(token: string, channelId: string): Promise<Result<void, 'token_invalid' | 'token_expired'>> {
      const options = {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: [ALG],
        typ: 'at+jwt',
        subject: channelId,
        currentDate: new Date(clock.now()),
      };
      const attempt = async (force: boolean) =>
        jwtVerify(token, createLocalJWKSet({ keys: await publishedKeys(force) }), options);
      try {
        try {
          await attempt(false);
        } catch (e) {
          // A key made by another process in the last second: read the set again, once.
          if (!(e instanceof errors.JWKSNoMatchingKey)) throw e;
          await attempt(true);
        }
        return ok(undefined);
      } catch (e) {
        if (e instanceof errors.JWTExpired)
          return fail(
            'token_expired',
            'The access token has expired; get a new one from POST /oauth/token.',
            {
              field: 'authorization',
            },
          );
        return fail(
          'token_invalid',
          'The access token is not one we issued to this channel for this API, or it was altered.',
          { field: 'authorization' },
        );
      }
    },
  };
}

export type OauthService = ReturnType<typeof createOauthService>;
