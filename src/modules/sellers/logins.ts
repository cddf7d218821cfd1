import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { sql } from 'kysely';
import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import { isUniqueViolation } from '../../storage/errors.js';
import type { Database } from '../../storage/schema.js';
import type { ChannelView } from '../channels/index.js';
import type { LoginError, SessionError } from './errors.js';
import type { Credentials, SellerAccountView, SessionView } from './login-model.js';

type AccountRow = Database['seller_accounts'];
type SessionRow = Database['seller_sessions'];

/** 5 wrong passwords within 15 minutes lock the account for 15 minutes. */
export const MAX_FAILED_LOGINS = 5;
export const FAILURE_WINDOW_MS = 15 * 60_000;
export const LOCK_MS = 15 * 60_000;
/** A session's last use is written at most this often: not one write per request. */
const MAX_TOUCH_EVERY_MS = 60_000;
const TOKEN = /^h5s_[A-Za-z0-9_-]{43}$/;

/** A signed-in seller, as the seller page's routes see it. */
export interface SellerSession {
  channel: ChannelView;
  sellerId: string;
  accountId: string;
  tokenHash: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export interface SellerLoginDeps {
  db: Db;
  clock: Clock;
  /** Keys the phone numbers' lookup hash (a plain hash of 7·10⁹ possible numbers is no protection). */
  phoneKey: Buffer;
  /** The channel, to check it is an active h5 channel at every login and every request. */
  channelOf: (id: string) => Promise<ChannelView | undefined>;
  idleS: number;
  maxS: number;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The CSRF token of a session: derived from its token, so nothing more is stored. */
export function csrfTokenOf(token: string): string {
  return createHash('sha256').update(`recard h5 csrf\n${token}`, 'utf8').digest('base64url');
}

/** Compares a presented CSRF token with the session's in constant time. */
export function csrfMatches(token: string, presented: string): boolean {
  const a = Buffer.from(csrfTokenOf(token));
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

const masked = (last4: string) => `1******${last4}`;

/**
 * Seller accounts of h5 channels and their sessions (docs/h5-sellers.md). The phone number is
 * kept only as a keyed hash and its last four digits; passwords as Argon2id; sessions as the
 * SHA-256 of their token. Unknown phones and wrong passwords get the same answer after the same
 * work (a verification against a dummy hash).
 */
export function createSellerLogins(deps: SellerLoginDeps) {
  const { db, clock } = deps;
  const touchEveryMs = Math.min(MAX_TOUCH_EVERY_MS, (deps.idleS * 1000) / 4);
  const phoneHash = (phone: string) =>
    createHmac('sha256', deps.phoneKey).update(phone, 'utf8').digest('hex');
  let dummy: Promise<string> | undefined;
  const dummyHash = () => {
    dummy ??= hash(randomBytes(24).toString('base64url'));
    return dummy;
  };

  async function h5Channel(id: string): Promise<ChannelView | undefined> {
    const channel = await deps.channelOf(id);
    return channel?.kind === 'h5' && channel.status === 'active' ? channel : undefined;
  }
  const unavailable = () =>
    fail('seller_page_unavailable', 'There is no seller page for this channel.', {
      field: 'params.channel_id',
    });

  const findAccount = (channelId: string, phone: string) =>
    db
      .selectFrom('seller_accounts')
      .selectAll()
      .where('channel_id', '=', channelId)
      .where('phone_hash', '=', phoneHash(phone))
      .executeTakeFirst();

  /**
   * Counts one wrong password in one statement: the count, its window and the lock are computed by
   * the database from the row as it is, so parallel guesses can neither lose a count nor clear a lock.
   */
  async function countFailure(account: AccountRow, now: number): Promise<void> {
    const since = now - FAILURE_WINDOW_MS;
    const fresh = sql<boolean>`(failed_since is null or failed_since <= ${since})`;
    const count = sql<number>`(case when ${fresh} then 1 else failed_logins + 1 end)`;
    const locks = sql<boolean>`(${count} >= ${MAX_FAILED_LOGINS})`;
    await db
      .updateTable('seller_accounts')
      .set({
        failed_logins: sql<number>`case when ${locks} then 0 else ${count} end`,
        failed_since: sql<
          number | null
        >`case when ${locks} then null when ${fresh} then ${now} else failed_since end`,
        locked_until: sql<number | null>`case when ${locks} then ${now + LOCK_MS} else locked_until end`,
        updated_at: now,
      })
      .where('id', '=', account.id)
      .execute();
  }

  function sessionView(
    s: Pick<SessionRow, 'channel_id' | 'seller_id' | 'last_seen_at' | 'expires_at'>,
    token: string,
    last4: string,
  ): SessionView {
    return {
      channel_id: s.channel_id,
      seller_id: s.seller_id,
      phone_masked: masked(last4),
      csrf_token: csrfTokenOf(token),
      expires_at: rfc3339(s.expires_at),
      idle_expires_at: rfc3339(Math.min(s.expires_at, s.last_seen_at + deps.idleS * 1000)),
    };
  }

  return {
    /** A new seller of the channel: its seller record (`h5_…`) and its login, in one transaction. */
    async register(
      channelId: string,
      input: Credentials,
    ): Promise<Result<SellerAccountView, LoginError['code']>> {
      if (!(await h5Channel(channelId))) return unavailable();
      const taken = () =>
        fail('seller_phone_taken', 'A seller with this phone number is already registered.', {
          field: 'phone',
        });
      if (await findAccount(channelId, input.phone)) return taken();
      const passwordHash = await hash(input.password);
      const now = clock.now();
      const row: AccountRow = {
        id: newId('sla', now),
        channel_id: channelId,
        seller_id: newId('h5', now),
        phone_hash: phoneHash(input.phone),
        phone_last4: input.phone.slice(-4),
        password_hash: passwordHash,
        failed_logins: 0,
        failed_since: null,
        locked_until: null,
        created_at: now,
        updated_at: now,
      };
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('sellers')
            .values({
              channel_id: channelId,
              id: row.seller_id,
              name: null,
              verified_name: null,
              verified: 0,
              created_at: now,
              updated_at: now,
            })
            .execute();
          await trx.insertInto('seller_accounts').values(row).execute();
        });
      } catch (err) {
        // Two registrations of one phone at once: the unique index decides.
        if (isUniqueViolation(err)) return taken();
        throw err;
      }
      return ok({
        channel_id: channelId,
        seller_id: row.seller_id,
        phone_masked: masked(row.phone_last4),
        created_at: rfc3339(now),
      });
    },

    async login(
      channelId: string,
      input: Credentials,
    ): Promise<Result<SessionView & { token: string }, LoginError['code']>> {
      if (!(await h5Channel(channelId))) return unavailable();
      const account = await findAccount(channelId, input.phone);
      // The same Argon2 work whether the phone is known or not.
      const good = await verify(account?.password_hash ?? (await dummyHash()), input.password).catch(
        () => false,
      );
      const now = clock.now();
      const invalid = fail('seller_credentials_invalid', 'The phone number or the password is wrong.', {
        field: 'password',
      });
      if (!account) return invalid;
      // Read again after the slow verify: a lock set by a guess in parallel holds for this one too.
      const locked = (await findAccount(channelId, input.phone))?.locked_until ?? account.locked_until;
      if (locked !== null && locked > now)
        return fail('seller_login_locked', 'Too many wrong passwords: this login is locked for a while.', {
          retryAfterS: Math.ceil((locked - now) / 1000),
        });
      if (!good) {
        await countFailure(account, now);
        return invalid;
      }
      const token = `h5s_${randomBytes(32).toString('base64url')}`;
      const session: SessionRow = {
        token_hash: sha256(token),
        account_id: account.id,
        channel_id: channelId,
        seller_id: account.seller_id,
        created_at: now,
        last_seen_at: now,
        expires_at: now + deps.maxS * 1000,
      };
      await db.transaction().execute(async (trx) => {
        if (account.failed_logins > 0 || account.locked_until !== null)
          await trx
            .updateTable('seller_accounts')
            .set({ failed_logins: 0, failed_since: null, locked_until: null, updated_at: now })
            .where('id', '=', account.id)
            .execute();
        // The account's ended sessions go when a new one starts: the table holds live ones only.
        await trx
          .deleteFrom('seller_sessions')
          .where('account_id', '=', account.id)
          .where((eb) =>
            eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - deps.idleS * 1000)]),
          )
          .execute();
        await trx.insertInto('seller_sessions').values(session).execute();
      });
      return ok({ ...sessionView(session, token, account.phone_last4), token });
    },

    /** The session a token names, if it is live and its channel still takes seller logins. */
    async authenticate(token: string): Promise<Result<SellerSession, SessionError['code']>> {
      const invalid = fail('seller_session_invalid', 'Sign in again: this session is not valid.', {
        field: 'authorization',
      });
      if (!TOKEN.test(token)) return invalid;
      const tokenHash = sha256(token);
      const row = await db
        .selectFrom('seller_sessions')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (!row) return invalid;
      const now = clock.now();
      if (now >= row.expires_at || now - row.last_seen_at >= deps.idleS * 1000) {
        await db.deleteFrom('seller_sessions').where('token_hash', '=', tokenHash).execute();
        return fail('seller_session_expired', 'This session has expired; sign in again.', {
          field: 'authorization',
        });
      }
      const channel = await h5Channel(row.channel_id);
      if (!channel) return invalid;
      if (now - row.last_seen_at >= touchEveryMs)
        await db
          .updateTable('seller_sessions')
          .set({ last_seen_at: now })
          .where('token_hash', '=', tokenHash)
          .execute();
      return ok({
        channel,
        sellerId: row.seller_id,
        accountId: row.account_id,
        tokenHash,
        createdAt: row.created_at,
        lastSeenAt: now - row.last_seen_at >= touchEveryMs ? now : row.last_seen_at,
        expiresAt: row.expires_at,
      });
    },

    /** What the seller page shows of the signed-in seller, with the session's CSRF token. */
    async describe(session: SellerSession, token: string): Promise<SessionView> {
      const account = await db
        .selectFrom('seller_accounts')
        .select('phone_last4')
        .where('id', '=', session.accountId)
        .executeTakeFirst();
      return sessionView(
        {
          channel_id: session.channel.id,
          seller_id: session.sellerId,
          last_seen_at: session.lastSeenAt,
          expires_at: session.expiresAt,
        },
        token,
        account?.phone_last4 ?? '????',
      );
    },

    async logout(session: SellerSession): Promise<void> {
      await db.deleteFrom('seller_sessions').where('token_hash', '=', session.tokenHash).execute();
    },

    /** Session lifetimes, for the cookie's Max-Age. */
    maxAgeS: deps.maxS,
  };
}

export type SellerLogins = ReturnType<typeof createSellerLogins>;
