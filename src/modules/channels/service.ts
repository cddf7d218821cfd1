import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { type Keyring, open, randomToken, seal } from '../../shared/crypto.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { ChannelError } from './errors.js';
import type {
  ChannelCredentials,
  ChannelPatch,
  ChannelStatus,
  ChannelView,
  FaceValuePolicy,
  GroupView,
  NewChannel,
} from './model.js';
import {
  type ChannelRow,
  findChannel,
  findGroup,
  insertChannel,
  listChannels,
  listGroups,
  setChannelStatus,
  upsertGroup,
} from './store.js';

export interface ChannelServiceDeps {
  db: Db;
  keyring: Keyring;
  clock: Clock;
  /**
   * How long a process reuses a channel's opened credentials for authentication (default 1 s): a
   * change made in this process applies at once, one made in another within this time.
   */
  credentialsTtlMs?: number;
}

/** Bound on cached credentials; past it the cache starts over (only known channels are cached). */
const CREDENTIALS_CACHE_MAX = 10_000;

export interface CreatedChannel {
  channel: ChannelView;
  /** Shown once: signs API requests. */
  secret: string;
  /** Shown once: verifies our callbacks (Standard Webhooks). */
  webhookSecret: string;
}

export type ChannelService = ReturnType<typeof createChannelService>;

function view(row: ChannelRow): ChannelView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    status: row.status,
    callback_url: row.callback_url,
    face_value_policy: row.face_value_policy,
    group_id: row.group_id,
    settlement_currency: row.settlement_currency as ChannelView['settlement_currency'],
    created_at: rfc3339(row.created_at),
  };
}

// The row id is bound into each ciphertext: a sealed secret copied to another row will not open.
const secretContext = (id: string) => `channel:${id}:secret`;
const webhookContext = (id: string) => `channel:${id}:webhook_secret`;

export function createChannelService({ db, keyring, clock, credentialsTtlMs = 1_000 }: ChannelServiceDeps) {
  // Every signed request needs the channel and its secret opened (a read and an AES-GCM open): held briefly.
  const cached = new Map<string, { creds: ChannelCredentials; at: number }>();
  const forget = (id: string) => cached.delete(id);
  return {
    async create(
      input: NewChannel,
      options: { id?: string } = {},
    ): Promise<Result<CreatedChannel, ChannelError['code']>> {
      if (input.group_id && !(await findGroup(db, input.group_id)))
        return fail('unknown_reference', `No channel group ${input.group_id}.`, { field: 'group_id' });
      const now = clock.now();
      const id = options.id ?? newId('ch', now);
      const secret = `sk_${randomToken(32)}`;
      const webhookSecret = `whsec_${Buffer.from(randomToken(24), 'base64url').toString('base64')}`;
      const row: ChannelRow = {
        id,
        name: input.name,
        kind: input.kind,
        status: 'active',
        secret_sealed: seal(keyring, secret, secretContext(id)),
        webhook_secret_sealed: seal(keyring, webhookSecret, webhookContext(id)),
        callback_url: input.callback_url ?? null,
        face_value_policy: input.face_value_policy ?? 'review',
        group_id: input.group_id ?? null,
        settlement_currency: input.settlement_currency ?? null,
        created_at: now,
        updated_at: now,
      };
      await insertChannel(db, row);
      return ok({ channel: view(row), secret, webhookSecret });
    },

    async get(id: string): Promise<ChannelView | undefined> {
      const row = await findChannel(db, id);
      return row && view(row);
    },

    async list(): Promise<ChannelView[]> {
      return (await listChannels(db)).map(view);
    },

    async setStatus(id: string, status: ChannelStatus): Promise<boolean> {
      const changed = await setChannelStatus(db, id, status, clock.now());
      forget(id);
      return changed;
    },

    async setFaceValuePolicy(id: string, policy: FaceValuePolicy): Promise<boolean> {
      const r = await db
        .updateTable('channels')
        .set({ face_value_policy: policy, updated_at: clock.now() })
        .where('id', '=', id)
        .executeTakeFirst();
      forget(id);
      return r.numUpdatedRows === 1n;
    },

    /** Changes commercial settings. */
    async update(id: string, patch: ChannelPatch): Promise<Result<ChannelView, ChannelError['code']>> {
      if (patch.group_id && !(await findGroup(db, patch.group_id)))
        return fail('unknown_reference', `No channel group ${patch.group_id}.`, { field: 'group_id' });
      const r = await db
        .updateTable('channels')
        .set({ ...patch, updated_at: clock.now() })
        .where('id', '=', id)
        .executeTakeFirst();
      forget(id);
      const row = r.numUpdatedRows === 1n ? await findChannel(db, id) : undefined;
      return row ? ok(view(row)) : fail('channel_not_found', `No channel ${id}.`, { field: 'params.id' });
    },

    async putGroup(id: string, name: string): Promise<GroupView> {
      const now = clock.now();
      const earlier = await findGroup(db, id);
      const row = { id, name, created_at: earlier?.created_at ?? now, updated_at: now };
      await upsertGroup(db, row);
      return { id, name, created_at: rfc3339(row.created_at) };
    },

    /** The group row, or undefined (pricing checks a rate sheet's tier against it). */
    group: (id: string) => findGroup(db, id),

    async listGroups(): Promise<GroupView[]> {
      return (await listGroups(db)).map((g) => ({
        id: g.id,
        name: g.name,
        created_at: rfc3339(g.created_at),
      }));
    },

    /** The channel with its API secret opened; undefined when there is no such channel. */
    async credentials(id: string): Promise<ChannelCredentials | undefined> {
      const now = clock.now();
      const hit = cached.get(id);
      if (hit && now - hit.at < credentialsTtlMs) return hit.creds;
      const row = await findChannel(db, id);
      if (!row) {
        forget(id);
        return undefined;
      }
      const creds = { channel: view(row), secret: open(keyring, row.secret_sealed, secretContext(row.id)) };
      if (credentialsTtlMs > 0) {
        if (cached.size >= CREDENTIALS_CACHE_MAX) cached.clear();
        cached.set(id, { creds, at: now });
      }
      return creds;
    },

    /** The secret our callbacks to this channel are signed with. */
    async webhookSecret(id: string): Promise<string | undefined> {
      const row = await findChannel(db, id);
      return row && open(keyring, row.webhook_secret_sealed, webhookContext(row.id));
    },
  };
}
