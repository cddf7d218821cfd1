import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import { isUniqueViolation } from '../../storage/errors.js';
import type { Database } from '../../storage/schema.js';
import type { AdminError } from './errors.js';
import type {
  AdminPrincipal,
  AdminUserPatch,
  AdminUserView,
  LoginRequest,
  NewAdminUser,
  SessionView,
} from './model.js';
import { dummyHash, hashPassword, passwordMatches } from './passwords.js';

type UserRow = Database['admin_users'];
type Answer<T> = Promise<Result<T, AdminError['code']>>;

/** Wrong passwords in a row that lock the user, and for how long. */
export const MAX_FAILED_LOGINS = 5;
export const LOCK_MS = 15 * 60_000;
/** A session's last use is written at most this often: not one write per admin request. */
const TOUCH_EVERY_MS = 10_000;
const TOKEN_PREFIX = 'rcs_';

export const tokenHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

function userView(r: UserRow, now: number): AdminUserView {
  return {
    id: r.id,
    username: r.username,
    role: r.role,
    status: r.status,
    locked_until: r.locked_until !== null && r.locked_until > now ? rfc3339(r.locked_until) : null,
    last_login_at: r.last_login_at === null ? null : rfc3339(r.last_login_at),
    created_at: rfc3339(r.created_at),
    updated_at: rfc3339(r.updated_at),
  };
}

const LOGIN_FAILED = 'The username or password is wrong.';

/**
 * Admin users, their passwords and sessions (docs/security.md#admin-users-and-roles). A session is an
 * opaque random bearer token; only its SHA-256 is stored. It ends after `idleMs` without use, or
 * `maxMs` after login, whichever comes first; disabling a user or resetting a password ends them all.
 */
export function createAdminService({
  db,
  clock,
  idleMs,
  maxMs,
}: {
  db: Db;
  clock: Clock;
  idleMs: number;
  maxMs: number;
}) {
  // Made now, so that the first unknown-user login costs no more than the next ones.
  void dummyHash();
  const find = (id: string) =>
    db.selectFrom('admin_users').selectAll().where('id', '=', id).executeTakeFirst();
  const endSessions = (userId: string) =>
    db.deleteFrom('admin_sessions').where('user_id', '=', userId).execute();
  const notFound = (id: string) => fail('resource_not_found', `No admin user ${id}.`, { field: 'params.id' });

  /**
   * One statement, so concurrent guesses all count and a wrong password costs about what an unknown
   * user does (the right-hand sides read the row as it was).
   */
  async function recordFailure(user: UserRow, now: number): Promise<void> {
    const reached = sql<boolean>`failed_logins + 1 >= ${MAX_FAILED_LOGINS}`;
    await db
      .updateTable('admin_users')
      .set({
        failed_logins: sql<number>`case when ${reached} then 0 else failed_logins + 1 end`,
        locked_until: sql<number | null>`case when ${reached} then ${now + LOCK_MS} else locked_until end`,
      })
      .where('id', '=', user.id)
      .execute();
  }

  return {
    async create(input: NewAdminUser): Answer<AdminUserView> {
      const now = clock.now();
      const row: UserRow = {
        id: newId('adm', now),
        username: input.username,
        role: input.role,
        status: 'active',
        password_hash: await hashPassword(input.password),
        failed_logins: 0,
        locked_until: null,
        last_login_at: null,
        created_at: now,
        updated_at: now,
      };
      try {
        await db.insertInto('admin_users').values(row).execute();
      } catch (err) {
        if (isUniqueViolation(err))
          return fail('admin_username_taken', `An admin user ${input.username} exists.`, {
            field: 'username',
          });
        throw err;
      }
      return ok(userView(row, now));
    },

    async list(): Promise<AdminUserView[]> {
      const now = clock.now();
      const rows = await db.selectFrom('admin_users').selectAll().orderBy('username').execute();
      return rows.map((r) => userView(r, now));
    },

    async get(id: string): Answer<AdminUserView> {
      const row = await find(id);
      return row ? ok(userView(row, clock.now())) : notFound(id);
    },

    /** A new role applies to open sessions at once (roles are read per request); disabling ends them. */
    async update(id: string, patch: AdminUserPatch): Answer<AdminUserView> {
      const now = clock.now();
      const r = await db
        .updateTable('admin_users')
        .set({
          ...(patch.role ? { role: patch.role } : {}),
          ...(patch.status ? { status: patch.status } : {}),
          updated_at: now,
        })
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return notFound(id);
      if (patch.status === 'disabled') await endSessions(id);
      return this.get(id);
    },

    /** Sets a new password, clears a lock and ends the user's sessions. */
    async resetPassword(id: string, password: string): Answer<AdminUserView> {
      const r = await db
        .updateTable('admin_users')
        .set({
          password_hash: await hashPassword(password),
          failed_logins: 0,
          locked_until: null,
          updated_at: clock.now(),
        })
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return notFound(id);
      await endSessions(id);
      return this.get(id);
    },

    /**
     * Unknown user, disabled user and wrong password answer alike and cost one argon2 check each.
     * A locked user is told so (423) until the lock ends, even with the right password.
     */
    async login(input: LoginRequest): Answer<SessionView> {
      const now = clock.now();
      const user = await db
        .selectFrom('admin_users')
        .selectAll()
        .where('username', '=', input.username)
        .executeTakeFirst();
      const matches = await passwordMatches(user?.password_hash ?? (await dummyHash()), input.password);
      if (user?.status !== 'active') return fail('admin_login_failed', LOGIN_FAILED);
      if (user.locked_until !== null && user.locked_until > now)
        return fail('admin_locked', 'Too many wrong passwords: this user is locked for a while.', {
          retryAfterS: Math.ceil((user.locked_until - now) / 1000),
        });
      if (!matches) {
        await recordFailure(user, now);
        return fail('admin_login_failed', LOGIN_FAILED);
      }
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const expiresAt = now + maxMs;
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('admin_users')
          .set({ failed_logins: 0, locked_until: null, last_login_at: now })
          .where('id', '=', user.id)
          .execute();
        await trx
          .insertInto('admin_sessions')
          .values({
            token_hash: tokenHash(token),
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
            expires_at: expiresAt,
          })
          .execute();
      });
      return ok({
        token,
        user: userView({ ...user, failed_logins: 0, locked_until: null, last_login_at: now }, now),
        idle_expires_at: rfc3339(Math.min(now + idleMs, expiresAt)),
        expires_at: rfc3339(expiresAt),
      });
    },

    async logout(hash: string): Promise<void> {
      await db.deleteFrom('admin_sessions').where('token_hash', '=', hash).execute();
    },

    /** The user a session token belongs to, if the session is live and the user active. */
    async authenticate(token: string): Promise<AdminPrincipal | null> {
      if (!token.startsWith(TOKEN_PREFIX)) return null;
      const now = clock.now();
      const hash = tokenHash(token);
      const row = await db
        .selectFrom('admin_sessions')
        .innerJoin('admin_users', 'admin_users.id', 'admin_sessions.user_id')
        .select([
          'admin_sessions.last_seen_at',
          'admin_sessions.expires_at',
          'admin_users.id',
          'admin_users.username',
          'admin_users.role',
          'admin_users.status',
        ])
        .where('admin_sessions.token_hash', '=', hash)
        .executeTakeFirst();
      if (!row) return null;
      if (row.status !== 'active' || now >= row.expires_at || now >= row.last_seen_at + idleMs) {
        await db.deleteFrom('admin_sessions').where('token_hash', '=', hash).execute();
        return null;
      }
      if (now - row.last_seen_at >= TOUCH_EVERY_MS)
        await db
          .updateTable('admin_sessions')
          .set({ last_seen_at: now })
          .where('token_hash', '=', hash)
          .execute();
      return { kind: 'user', id: row.id, username: row.username, role: row.role, tokenHash: hash };
    },

    /** Sessions past either expiry (the maintenance sweep; a stale session is refused anyway). */
    async pruneSessions(): Promise<number> {
      const now = clock.now();
      const r = await db
        .deleteFrom('admin_sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - idleMs)]))
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
