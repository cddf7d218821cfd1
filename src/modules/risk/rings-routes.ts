import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import { rfc3339 } from '../../shared/clock.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import { LINK_KINDS } from './links.js';
import { listRings, ringOfSeller, type StoredRing } from './rings-job.js';

const Kind = Type.Union(
  LINK_KINDS.map((k) => Type.Literal(k)),
  { description: 'What the sellers share: a device, an end-user IP or a payout destination.' },
);
const Label = Type.String({
  description:
    "The shared value, masked for people: a device id's last four characters, an IPv4 /24 (IPv6 /48), a destination type and its last four characters. Never the value itself.",
  examples: ['ip 203.0.113.0/24'],
});
const SellerRef = Type.Object({ channel_id: Type.String(), seller_id: Type.String() });

export const RingMemberView = Type.Object(
  {
    channel_id: Type.String(),
    seller_id: Type.String(),
    rejected_orders: Type.Integer({
      description: 'Orders of the seller rejected, when the ring was computed.',
    }),
    frozen_orders: Type.Integer({
      description: 'Orders of the seller frozen by risk, when the ring was computed.',
    }),
    linked_by: Type.Array(Type.Object({ kind: Kind, label: Label }), {
      description: 'Why the seller is in the ring: the values it shares with other members.',
    }),
  },
  { title: 'RiskRingMember' },
);

export const RingView = Type.Object(
  {
    id: Type.String({
      examples: ['rng_01m82bdkm43j64m14csvx1b6m1'],
      description: 'Derived from the members: the same members keep the same id across computations.',
    }),
    size: Type.Integer({ minimum: 2 }),
    bad_members: Type.Integer({ description: 'Members with a rejected or frozen order.' }),
    flagged: Type.Boolean({
      description: 'bad_members reached the threshold (RECARD_RISK_RINGS_MIN_BAD_MEMBERS).',
    }),
    members: Type.Array(RingMemberView),
    links: Type.Array(
      Type.Object({ kind: Kind, label: Label, members: Type.Array(SellerRef) }, { title: 'RiskRingLink' }),
      { description: 'The shared values that link the members, and who shares each.' },
    ),
    first_seen_at: Type.String({
      format: 'date-time',
      description: 'When a ring of these members was first found.',
    }),
    computed_at: Type.String({ format: 'date-time', description: 'When the rings were last computed.' }),
  },
  { title: 'RiskRing' },
);
export type RingView = Static<typeof RingView>;

export const RingList = Type.Object({
  data: Type.Array(RingView),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as `cursor` for the next page.',
  }),
});

const RingListQuery = Type.Object(
  {
    flagged: Type.Optional(
      Type.Boolean({ description: 'Only flagged (true) or only unflagged (false) rings.' }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(
      Type.String({ pattern: '^rng_[0-9a-z]{26}$', description: 'next_cursor of the previous page.' }),
    ),
  },
  { additionalProperties: false },
);

const SellerParams = Type.Object({
  channel_id: Type.String({ minLength: 1, maxLength: 64 }),
  seller_id: Type.String({ minLength: 1, maxLength: 64 }),
});

export function ringView(r: StoredRing): RingView {
  const same = (a: { channelId: string; sellerId: string }, b: { channelId: string; sellerId: string }) =>
    a.channelId === b.channelId && a.sellerId === b.sellerId;
  return {
    id: r.id,
    size: r.size,
    bad_members: r.badMembers,
    flagged: r.flagged,
    members: r.members.map((m) => ({
      channel_id: m.channelId,
      seller_id: m.sellerId,
      rejected_orders: m.rejected,
      frozen_orders: m.frozen,
      linked_by: r.links
        .filter((l) => l.members.some((o) => same(o, m)))
        .map((l) => ({ kind: l.kind, label: l.label })),
    })),
    links: r.links.map((l) => ({
      kind: l.kind,
      label: l.label,
      members: l.members.map((m) => ({ channel_id: m.channelId, seller_id: m.sellerId })),
    })),
    first_seen_at: rfc3339(r.firstSeenAt),
    computed_at: rfc3339(r.computedAt),
  };
}

async function sellerRing(
  db: Db,
  channelId: string,
  sellerId: string,
): Promise<Result<RingView, 'resource_not_found'>> {
  const ring = await ringOfSeller(db, channelId, sellerId);
  return ring
    ? ok(ringView(ring))
    : fail('resource_not_found', `Seller ${sellerId} of ${channelId} is in no ring (as last computed).`, {
        field: 'params.seller_id',
      });
}

/** /admin/v1/risk: fraud rings, as the rings job last computed them (docs/risk-rings.md). */
export function riskRingRoutes(deps: { db: Db }): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: risk'];
    app.get(
      '/admin/v1/risk/sellers/:channel_id/:seller_id/ring',
      {
        schema: {
          operationId: 'adminGetSellerRing',
          tags,
          summary: "A seller's fraud ring",
          description:
            'The group of sellers linked to this one through shared devices, IPs or payout destinations, why each member is in it, and how many had orders rejected or frozen. 404 when the seller is in no group.',
          params: SellerParams,
          response: {
            200: answer(RingView, "The seller's ring."),
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (request) =>
        unwrap(await sellerRing(deps.db, request.params.channel_id, request.params.seller_id)),
    );
    app.get(
      '/admin/v1/risk/rings',
      {
        schema: {
          operationId: 'adminListRings',
          tags,
          summary: 'Fraud rings',
          description:
            'Groups of two or more sellers linked through shared values, by id; `flagged=true` for those with enough rejected or frozen members.',
          querystring: RingListQuery,
          response: {
            200: answer(RingList, 'A page of rings.'),
            ...errorResponses(400, 401),
          },
        },
      },
      async (request) => {
        const q = request.query;
        const page = await listRings(deps.db, {
          limit: q.limit,
          ...(q.flagged !== undefined ? { flagged: q.flagged } : {}),
          ...(q.cursor ? { cursor: q.cursor } : {}),
        });
        const data = page.rings.map(ringView);
        return { data, next_cursor: page.more ? (data.at(-1)?.id ?? null) : null };
      },
    );
  };
}
