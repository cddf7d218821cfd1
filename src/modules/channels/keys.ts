import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { ChannelKeysTable } from '../../storage/schema.js';
import type { ActiveKey, ChannelKeyView, KeyAlgorithm } from './model.js';

/** What a registered public key is, once parsed and checked (RSA ≥ 2048 bit, SM2 on its curve). */
export interface ParsedKey {
  algorithm: KeyAlgorithm;
  fingerprint: string;
  /** The key as stored and later verified with (normalised PEM, or the SM2 point). */
  publicKey: string;
}
export type KeyParser = (text: string) => Result<ParsedKey, 'public_key_invalid'>;

export type KeyError = Result<never, 'public_key_invalid' | 'channel_not_found' | 'resource_not_found'>;

/** At most this many keys verify at once: a rotation needs two, a key-per-terminal merchant a few. */
export const MAX_ACTIVE_KEYS = 10;

function keyView(row: ChannelKeysTable): ChannelKeyView {
  return {
    id: row.id,
    algorithm: row.algorithm,
    fingerprint: row.fingerprint,
    status: row.status,
    public_key: row.public_key,
    created_at: rfc3339(row.created_at),
    revoked_at: row.revoked_at === null ? null : rfc3339(row.revoked_at),
  };
}

/** The keys a channel's signatures verify against, newest first. */
export async function activeKeys(db: Db, channelId: string): Promise<ActiveKey[]> {
  const rows = await db
    .selectFrom('channel_keys')
    .select(['id', 'algorithm', 'public_key'])
    .where('channel_id', '=', channelId)
    .where('status', '=', 'active')
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((r) => ({ id: r.id, algorithm: r.algorithm, publicKey: r.public_key }));
}

/**
 * The registry of channels' public keys. Several may be active during a rotation: register the new
 * key, switch the signer, revoke the old one. Each change drops the process's cached credentials.
 */
export function createKeyRegistry(deps: {
  db: Db;
  clock: Clock;
  parse: KeyParser;
  forget: (id: string) => void;
}) {
  const { db, clock, parse, forget } = deps;
  const channelExists = async (id: string) =>
    (await db.selectFrom('channels').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  return {
    async list(channelId: string): Promise<Result<ChannelKeyView[], 'channel_not_found'>> {
      if (!(await channelExists(channelId)))
        return fail('channel_not_found', `No channel ${channelId}.`, { field: 'params.id' });
      const rows = await db
        .selectFrom('channel_keys')
        .selectAll()
        .where('channel_id', '=', channelId)
        .orderBy('created_at', 'desc')
        .execute();
      return ok(rows.map(keyView));
    },

    /** One key of the channel (the audit log's "before" of a revocation). */
    async get(channelId: string, keyId: string): Promise<ChannelKeyView | undefined> {
      const row = await db
        .selectFrom('channel_keys')
        .selectAll()
        .where('id', '=', keyId)
        .where('channel_id', '=', channelId)
        .executeTakeFirst();
      return row && keyView(row);
    },

    /** Registers a key; the same key again answers the registration there is (idempotent). */
    async add(
      channelId: string,
      text: string,
    ): Promise<
      Result<
        { key: ChannelKeyView; created: boolean },
        'public_key_invalid' | 'channel_not_found' | 'too_many_keys' | 'public_key_in_use'
      >
    > {
      const parsed = parse(text);
      if (!parsed.ok) return parsed;
      if (!(await channelExists(channelId)))
        return fail('channel_not_found', `No channel ${channelId}.`, { field: 'params.id' });
      // A key belongs to one channel, ever: the channel id is not part of what is signed, so a key
      // on two channels would let a call signed for one be replayed to the other.
      const existing = await db
        .selectFrom('channel_keys')
        .selectAll()
        .where('fingerprint', '=', parsed.value.fingerprint)
        .executeTakeFirst();
      if (existing && (existing.channel_id !== channelId || existing.status !== 'active'))
        return fail(
          'public_key_in_use',
          existing.channel_id !== channelId
            ? 'This key is registered elsewhere; every channel signs with its own key.'
            : 'This key was revoked; register a new one.',
          { field: 'public_key' },
        );
      if (existing) return ok({ key: keyView(existing), created: false });
      const active = await activeKeys(db, channelId);
      if (active.length >= MAX_ACTIVE_KEYS)
        return fail(
          'too_many_keys',
          `A channel has at most ${MAX_ACTIVE_KEYS} active keys; revoke one first.`,
          {
            field: 'public_key',
          },
        );
      const now = clock.now();
      const row: ChannelKeysTable = {
        id: newId('ck', now),
        channel_id: channelId,
        algorithm: parsed.value.algorithm,
        public_key: parsed.value.publicKey,
        fingerprint: parsed.value.fingerprint,
        status: 'active',
        created_at: now,
        revoked_at: null,
      };
      // Two uploads of one key at once: the unique index lets one in; the other reads it back.
      const r = await db
        .insertInto('channel_keys')
        .values(row)
        .onConflict((oc) => oc.column('fingerprint').doNothing())
        .executeTakeFirst();
      forget(channelId);
      if (r.numInsertedOrUpdatedRows === 0n) {
        const again = await db
          .selectFrom('channel_keys')
          .selectAll()
          .where('fingerprint', '=', parsed.value.fingerprint)
          .executeTakeFirstOrThrow();
        if (again.channel_id !== channelId)
          return fail(
            'public_key_in_use',
            'This key is registered elsewhere; every channel signs with its own key.',
            {
              field: 'public_key',
            },
          );
        return ok({ key: keyView(again), created: false });
      }
      return ok({ key: keyView(row), created: true });
    },

    /** Revokes a key: signatures made with it stop verifying at once in this process, within 1 s in others. */
    async revoke(channelId: string, keyId: string): Promise<Result<ChannelKeyView, 'resource_not_found'>> {
      const now = clock.now();
      await db
        .updateTable('channel_keys')
        .set({ status: 'revoked', revoked_at: now })
        .where('id', '=', keyId)
        .where('channel_id', '=', channelId)
        .where('status', '=', 'active')
        .execute();
      forget(channelId);
      const row = await db
        .selectFrom('channel_keys')
        .selectAll()
        .where('id', '=', keyId)
        .where('channel_id', '=', channelId)
        .executeTakeFirst();
      return row
        ? ok(keyView(row))
        : fail('resource_not_found', `No key ${keyId} on this channel.`, { field: 'params.key_id' });
    },
  };
}

export type KeyRegistry = ReturnType<typeof createKeyRegistry>;
