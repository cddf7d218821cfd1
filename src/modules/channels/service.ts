import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { type Keyring, open, randomToken, seal } from '../../shared/crypto.js';
import { newId } from '../../shared/ids.js';
import type { Db } from '../../storage/database.js';
import type { ChannelCredentials, ChannelStatus, ChannelView, FaceValuePolicy, NewChannel } from './model.js';
import { type ChannelRow, findChannel, insertChannel, listChannels, setChannelStatus } from './store.js';

export interface ChannelServiceDeps {
  db: Db;
  keyring: Keyring;
  clock: Clock;
}

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
    kind: row.kind as ChannelView['kind'],
    status: row.status as ChannelStatus,
    callback_url: row.callback_url,
    face_value_policy: row.face_value_policy as FaceValuePolicy,
    created_at: rfc3339(row.created_at),
  };
}

// The row id is bound into each ciphertext: a sealed secret copied to another row will not open.
const secretContext = (id: string) => `channel:${id}:secret`;
const webhookContext = (id: string) => `channel:${id}:webhook_secret`;

export function createChannelService({ db, keyring, clock }: ChannelServiceDeps) {
  return {
    async create(input: NewChannel, options: { id?: string } = {}): Promise<CreatedChannel> {
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
        created_at: now,
        updated_at: now,
      };
      await insertChannel(db, row);
      return { channel: view(row), secret, webhookSecret };
    },

    async get(id: string): Promise<ChannelView | undefined> {
      const row = await findChannel(db, id);
      return row && view(row);
    },

    async list(): Promise<ChannelView[]> {
      return (await listChannels(db)).map(view);
    },

    async setStatus(id: string, status: ChannelStatus): Promise<boolean> {
      return setChannelStatus(db, id, status, clock.now());
    },

    async setFaceValuePolicy(id: string, policy: FaceValuePolicy): Promise<boolean> {
      const r = await db
        .updateTable('channels')
        .set({ face_value_policy: policy, updated_at: clock.now() })
        .where('id', '=', id)
        .executeTakeFirst();
      return r.numUpdatedRows === 1n;
    },

    /** The channel with its API secret opened; undefined when there is no such channel. */
    async credentials(id: string): Promise<ChannelCredentials | undefined> {
      const row = await findChannel(db, id);
      if (!row) return undefined;
      return { channel: view(row), secret: open(keyring, row.secret_sealed, secretContext(row.id)) };
    },

    /** The secret our callbacks to this channel are signed with. */
    async webhookSecret(id: string): Promise<string | undefined> {
      const row = await findChannel(db, id);
      return row && open(keyring, row.webhook_secret_sealed, webhookContext(row.id));
    },
  };
}
