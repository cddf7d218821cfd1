import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { type Keyring, open, randomToken, seal } from '../../shared/crypto.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import { prepared } from '../../storage/prepared.js';
import type { ChannelError } from './errors.js';
import { checkLimits, KIND_DEFAULTS, type LimitColumns, limitColumns, limitsView } from './limits.js';
import type {
  ActiveKey,
  AuthSettings,
  CallbackSettings,
  ChannelCredentials,
  ChannelKind,
  ChannelPatch,
  ChannelStatus,
  ChannelView,
  FaceValuePolicy,
  GroupView,
  NewChannel,
  RotatedSecret,
  SecretKind,
  SettlementSettings,
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
  /** Channel keys whose rows are read with the credentials (the key registry, keys.ts). */
  activeKeys?: (db: Db, channelId: string) => Promise<ActiveKey[]>;
  keyring: Keyring;
  clock: Clock;
  /**
   * How long a process reuses a channel's opened credentials for authentication (default 1 s): a
   * change made in this process applies at once, one made in another within this time.
   */
  credentialsTtlMs?: number | (() => number);
  /** Told after this process changed a channel, so that other processes forget it too (storage/change-feed.ts). */
  onChanged?: (id: string) => void;
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

/** What a channel settles with unless it says otherwise. */
export const DEFAULT_SETTLEMENT: SettlementSettings = {
  cycle: 'T0',
  cutoff: '00:00',
  time_zone: 'Asia/Shanghai',
  escrow: false,
  min_payout: 0,
  payout_fee: 0,
  seller_daily_payout_cap: null,
};

/**
 * How each kind of caller authenticates unless an admin says otherwise (docs/signing.md#schemes):
 * platforms sign with HMAC and carry an OAuth token, offline merchants sign with a registered key.
 */
const DEFAULT_AUTH: Record<ChannelKind, AuthSettings> = {
  ecommerce: { schemes: ['HMAC-SHA256'], require_token: true, client_cert_sha256: null },
  merchant: { schemes: ['RSA-SHA256', 'SM2-SM3'], require_token: false, client_cert_sha256: null },
  crypto: { schemes: ['HMAC-SHA256'], require_token: false, client_cert_sha256: null },
  h5: { schemes: ['HMAC-SHA256'], require_token: false, client_cert_sha256: null },
};

type AuthColumn = 'auth_schemes' | 'require_token' | 'client_cert_sha256';

function authColumns(a: Partial<AuthSettings>): Partial<Pick<ChannelRow, AuthColumn>> {
  const out: Partial<ChannelRow> = {};
  if (a.schemes !== undefined) out.auth_schemes = JSON.stringify(a.schemes);
  if (a.require_token !== undefined) out.require_token = a.require_token ? 1 : 0;
  if (a.client_cert_sha256 !== undefined) out.client_cert_sha256 = a.client_cert_sha256;
  return out;
}

type SettlementColumn =
  | 'settlement_cycle'
  | 'settlement_cutoff'
  | 'settlement_time_zone'
  | 'escrow'
  | 'min_payout'
  | 'payout_fee'
  | 'seller_daily_payout_cap';

/** The columns of the settings given (a patch sets only those). */
function settlementColumns(s: Partial<SettlementSettings>): Partial<Pick<ChannelRow, SettlementColumn>> {
  const out: Partial<ChannelRow> = {};
  if (s.cycle !== undefined) out.settlement_cycle = s.cycle;
  if (s.cutoff !== undefined) out.settlement_cutoff = s.cutoff;
  if (s.time_zone !== undefined) out.settlement_time_zone = s.time_zone;
  if (s.escrow !== undefined) out.escrow = s.escrow ? 1 : 0;
  if (s.min_payout !== undefined) out.min_payout = s.min_payout;
  if (s.payout_fee !== undefined) out.payout_fee = s.payout_fee;
  if (s.seller_daily_payout_cap !== undefined) out.seller_daily_payout_cap = s.seller_daily_payout_cap;
  return out;
}

/** Whether the zone is one the runtime knows (an unknown one would make every batch date wrong). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function view(row: ChannelRow, nowMs: number): ChannelView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    status: row.status,
    callback_url: row.callback_url,
    face_value_policy: row.face_value_policy,
    group_id: row.group_id,
    settlement_currency: row.settlement_currency as ChannelView['settlement_currency'],
    callbacks: {
      format: row.callback_format,
      ack: row.callback_ack,
      sign_type: row.callback_sign_type,
      allowed_hosts: JSON.parse(row.callback_hosts) as string[],
    },
    settlement: {
      cycle: row.settlement_cycle,
      cutoff: row.settlement_cutoff,
      time_zone: row.settlement_time_zone,
      escrow: row.escrow === 1,
      min_payout: row.min_payout,
      payout_fee: row.payout_fee,
      seller_daily_payout_cap: row.seller_daily_payout_cap,
    },
    auth: {
      schemes: JSON.parse(row.auth_schemes) as AuthSettings['schemes'],
      require_token: row.require_token === 1,
      client_cert_sha256: row.client_cert_sha256,
    },
    limits: limitsView(row),
    previous_secret_valid_until: {
      api: stillValid(row.secret_previous_sealed, row.secret_previous_until, nowMs),
      webhook: stillValid(row.webhook_secret_previous_sealed, row.webhook_secret_previous_until, nowMs),
    },
    created_at: rfc3339(row.created_at),
  };
}

/** Shown while the overlap lasts. */
function stillValid(sealed: string | null, until: number | null, nowMs: number): string | null {
  return sealed !== null && until !== null && until > nowMs ? rfc3339(until) : null;
}

/** What a callback to the channel needs: where, how it looks and the secrets that sign it. */
export interface CallbackProfile {
  channelId: string;
  status: ChannelStatus;
  callbackUrl: string | null;
  settings: CallbackSettings;
  /** Newest first: during a rotation's overlap both sign. */
  webhookSecrets: string[];
}

const callbackUrlOf = prepared<{ id: string }>((db, p) =>
  db.selectFrom('channels').select(['callback_url']).where('id', '=', p.id),
);

const newApiSecret = () => `sk_${randomToken(32)}`;
const newWebhookSecret = () => `whsec_${Buffer.from(randomToken(24), 'base64url').toString('base64')}`;

// The row id is bound into each ciphertext: a sealed secret copied to another row will not open.
const secretContext = (id: string) => `channel:${id}:secret`;
const webhookContext = (id: string) => `channel:${id}:webhook_secret`;
const previousContext = (id: string, kind: SecretKind) => `channel:${id}:${kind}_secret_previous`;

export function createChannelService({
  db,
  keyring,
  clock,
  credentialsTtlMs = 1_000,
  activeKeys = async () => [],
  onChanged,
}: ChannelServiceDeps) {
  const ttl = typeof credentialsTtlMs === 'function' ? credentialsTtlMs : () => credentialsTtlMs;
  // Every signed request needs the channel and its secret opened (a read and an AES-GCM open): held briefly.
  const cached = new Map<string, { creds: ChannelCredentials; at: number }>();
  // Every callback attempt needs the channel's conventions and webhook secrets opened: held as briefly.
  const profiles = new Map<string, { profile: CallbackProfile; at: number }>();
  // How sellers are paid: every booked order reads it twice (ledger, settlement).
  const settlements = new Map<string, { settlement: SettlementSettings; at: number }>();
  const forgetCached = (id: string | null) => {
    if (id === null) {
      cached.clear();
      profiles.clear();
      settlements.clear();
      return;
    }
    cached.delete(id);
    profiles.delete(id);
    settlements.delete(id);
  };
  // After a change made here: this process forgets at once, the others when they are told.
  const forget = (id: string) => {
    forgetCached(id);
    onChanged?.(id);
  };
  return {
    async create(
      input: NewChannel,
      options: { id?: string } = {},
    ): Promise<Result<CreatedChannel, ChannelError['code']>> {
      if (input.settlement?.time_zone && !isTimeZone(input.settlement.time_zone))
        return fail('invalid_request', `Unknown time zone ${input.settlement.time_zone}.`, {
          field: 'settlement.time_zone',
        });
      if (input.group_id && !(await findGroup(db, input.group_id)))
        return fail('unknown_reference', `No channel group ${input.group_id}.`, { field: 'group_id' });
      const kindDefaults = KIND_DEFAULTS[input.kind];
      const limits = { ...kindDefaults.limits, ...input.limits };
      const badLimit = checkLimits(limits);
      if (badLimit) return fail('invalid_request', badLimit.message, { field: badLimit.field });
      const now = clock.now();
      const id = options.id ?? newId('ch', now);
      const secret = newApiSecret();
      const webhookSecret = newWebhookSecret();
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
        settlement_currency:
          input.settlement_currency !== undefined
            ? input.settlement_currency
            : kindDefaults.settlementCurrency,
        created_at: now,
        updated_at: now,
        secret_previous_sealed: null,
        secret_previous_until: null,
        webhook_secret_previous_sealed: null,
        webhook_secret_previous_until: null,
        callback_format: 'standard',
        callback_ack: 'any_2xx',
        callback_sign_type: 'HMAC-SHA256',
        callback_hosts: '[]',
        // Every setting given, so every column is set.
        ...(settlementColumns({
          ...DEFAULT_SETTLEMENT,
          cycle: kindDefaults.cycle,
          ...input.settlement,
        }) as Pick<ChannelRow, SettlementColumn>),
        ...(limitColumns(limits) as LimitColumns),
        ...(authColumns({ ...DEFAULT_AUTH[input.kind], ...input.auth }) as Pick<ChannelRow, AuthColumn>),
      };
      await insertChannel(db, row);
      return ok({ channel: view(row, now), secret, webhookSecret });
    },

    async get(id: string): Promise<ChannelView | undefined> {
      const row = await findChannel(db, id);
      return row && view(row, clock.now());
    },

    async list(): Promise<ChannelView[]> {
      return (await listChannels(db)).map((r) => view(r, clock.now()));
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
      if (patch.settlement?.time_zone && !isTimeZone(patch.settlement.time_zone))
        return fail('invalid_request', `Unknown time zone ${patch.settlement.time_zone}.`, {
          field: 'settlement.time_zone',
        });
      if (patch.group_id && !(await findGroup(db, patch.group_id)))
        return fail('unknown_reference', `No channel group ${patch.group_id}.`, { field: 'group_id' });
      const { callbacks, settlement, auth, limits, ...plain } = patch;
      if (limits) {
        const current = await findChannel(db, id);
        if (!current) return fail('channel_not_found', `No channel ${id}.`, { field: 'params.id' });
        const badLimit = checkLimits({ ...limitsView(current), ...limits });
        if (badLimit) return fail('invalid_request', badLimit.message, { field: badLimit.field });
      }
      const set: Partial<ChannelRow> = {
        ...plain,
        ...settlementColumns(settlement ?? {}),
        ...limitColumns(limits ?? {}),
        ...authColumns(auth ?? {}),
        updated_at: clock.now(),
      };
      if (callbacks?.format) set.callback_format = callbacks.format;
      if (callbacks?.ack) set.callback_ack = callbacks.ack;
      if (callbacks?.sign_type) set.callback_sign_type = callbacks.sign_type;
      if (callbacks?.allowed_hosts)
        set.callback_hosts = JSON.stringify([
          ...new Set(callbacks.allowed_hosts.map((h) => h.toLowerCase())),
        ]);
      const r = await db.updateTable('channels').set(set).where('id', '=', id).executeTakeFirst();
      forget(id);
      const row = r.numUpdatedRows === 1n ? await findChannel(db, id) : undefined;
      return row
        ? ok(view(row, clock.now()))
        : fail('channel_not_found', `No channel ${id}.`, { field: 'params.id' });
    },

    async putGroup(id: string, name: string): Promise<GroupView> {
      const now = clock.now();
      const stored = await upsertGroup(db, { id, name, created_at: now, updated_at: now });
      return { id, name: stored.name, created_at: rfc3339(stored.created_at) };
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
      if (hit && now - hit.at < ttl()) return hit.creds;
      const row = await findChannel(db, id);
      if (!row) {
        forgetCached(id);
        return undefined;
      }
      const creds: ChannelCredentials = {
        channel: view(row, now),
        keys: await activeKeys(db, row.id),
        secret: open(keyring, row.secret_sealed, secretContext(row.id)),
      };
      if (
        row.secret_previous_sealed !== null &&
        row.secret_previous_until !== null &&
        row.secret_previous_until > now
      )
        creds.previous = {
          secret: open(keyring, row.secret_previous_sealed, previousContext(row.id, 'api')),
          until: row.secret_previous_until,
        };
      if (ttl() > 0) {
        if (cached.size >= CREDENTIALS_CACHE_MAX) cached.clear();
        cached.set(id, { creds, at: now });
      }
      return creds;
    },

    /** Drops what this process holds of a channel, after a change made elsewhere in the module. */
    forget,

    /** Drops what this process holds of a channel (null: of every channel), told of a change made elsewhere. */
    forgetCached,

    /** The secret our callbacks to this channel are signed with. */
    async webhookSecret(id: string): Promise<string | undefined> {
      return (await this.callbackProfile(id))?.webhookSecrets[0];
    },

    /**
     * How the channel's sellers are paid. Every booked order asks, twice: held as briefly as
     * credentials are, and read with the caller's connection (a subscriber's transaction: on SQLite
     * another read would wait for it).
     */
    async settlementOf(id: string, from: Db = db): Promise<SettlementSettings | undefined> {
      const now = clock.now();
      const hit = settlements.get(id);
      if (hit && now - hit.at < ttl()) return hit.settlement;
      const row = await findChannel(from, id);
      if (!row) return undefined;
      const settlement = view(row, now).settlement;
      if (ttl() > 0) {
        if (settlements.size >= CREDENTIALS_CACHE_MAX) settlements.clear();
        settlements.set(id, { settlement, at: now });
      }
      return settlement;
    },

    /** Where an event of the channel goes besides its endpoints (no secret opened): for the subscriber. */
    async callbackTarget(id: string, from: Db = db): Promise<{ callbackUrl: string | null } | undefined> {
      const [row] = (await callbackUrlOf.run<{ callback_url: string | null }>(from, { id })).rows;
      return row && { callbackUrl: row.callback_url };
    },

    /**
     * Where and how to call the channel back, with its webhook secrets opened. Held for as long as
     * credentials are (a change in this process applies at once, one made in another within that).
     */
    async callbackProfile(id: string): Promise<CallbackProfile | undefined> {
      const now = clock.now();
      const hit = profiles.get(id);
      if (hit && now - hit.at < ttl()) return hit.profile;
      const row = await findChannel(db, id);
      if (!row) return undefined;
      const secrets = [open(keyring, row.webhook_secret_sealed, webhookContext(row.id))];
      if (
        row.webhook_secret_previous_sealed !== null &&
        row.webhook_secret_previous_until !== null &&
        row.webhook_secret_previous_until > now
      )
        secrets.push(open(keyring, row.webhook_secret_previous_sealed, previousContext(row.id, 'webhook')));
      const profile: CallbackProfile = {
        channelId: row.id,
        status: row.status,
        callbackUrl: row.callback_url,
        settings: view(row, now).callbacks,
        webhookSecrets: secrets,
      };
      if (ttl() > 0) {
        if (profiles.size >= CREDENTIALS_CACHE_MAX) profiles.clear();
        // A previous secret stops signing when its overlap ends, not a second later.
        const until = row.webhook_secret_previous_until;
        if (secrets.length === 1 || until === null || until - now > ttl())
          profiles.set(id, { profile, at: now });
      }
      return profile;
    },

    /**
     * Replaces the API or webhook secret. The one replaced keeps working for `overlapMs` (both
     * verify, or both signatures are sent), so a channel can switch without a window of failures.
     * A rotation during an overlap ends the older overlap: only two secrets are ever live.
     */
    async rotateSecret(
      id: string,
      kind: SecretKind,
      overlapMs: number,
    ): Promise<Result<RotatedSecret, ChannelError['code']>> {
      const row = await findChannel(db, id);
      if (!row) return fail('channel_not_found', `No channel ${id}.`, { field: 'params.id' });
      const now = clock.now();
      const until = now + overlapMs;
      const secret = kind === 'api' ? newApiSecret() : newWebhookSecret();
      const current =
        kind === 'api'
          ? open(keyring, row.secret_sealed, secretContext(id))
          : open(keyring, row.webhook_secret_sealed, webhookContext(id));
      const set: Partial<ChannelRow> =
        kind === 'api'
          ? {
              secret_sealed: seal(keyring, secret, secretContext(id)),
              secret_previous_sealed: seal(keyring, current, previousContext(id, 'api')),
              secret_previous_until: until,
            }
          : {
              webhook_secret_sealed: seal(keyring, secret, webhookContext(id)),
              webhook_secret_previous_sealed: seal(keyring, current, previousContext(id, 'webhook')),
              webhook_secret_previous_until: until,
            };
      // Conditioned on the secret read, so two rotations at once cannot both keep "the previous" one.
      const sealedColumn = kind === 'api' ? 'secret_sealed' : 'webhook_secret_sealed';
      const r = await db
        .updateTable('channels')
        .set({ ...set, updated_at: now })
        .where('id', '=', id)
        .where(sealedColumn, '=', row[sealedColumn])
        .executeTakeFirst();
      forget(id);
      if (r.numUpdatedRows !== 1n)
        return fail(
          'rotation_conflict',
          'Another rotation of this secret happened at the same time; try again.',
          {
            field: 'kind',
          },
        );
      return ok({ kind, secret, previous_valid_until: rfc3339(until) });
    },
  };
}
