import { createHash } from 'node:crypto';
import { UndirectedGraph } from 'graphology';
import { connectedComponents } from 'graphology-components';
import type { LinkKind } from './links.js';

/**
 * Fraud rings, computed (pure): sellers are linked when they were seen with the same device, IP
 * or payout destination; a ring is a connected group of two or more linked sellers, flagged when
 * enough of its members had orders rejected or frozen (docs/risk-rings.md).
 */
export interface SellerRef {
  channelId: string;
  sellerId: string;
}

export interface LinkRow extends SellerRef {
  kind: LinkKind;
  valueHash: string;
  label: string;
}

export interface OutcomeRow extends SellerRef {
  rejected: number;
  frozen: number;
}

export interface RingOptions {
  /** A ring is flagged when at least this many members had a rejected or frozen order (default 2). */
  minBadMembers?: number;
  /**
   * A value shared by more sellers than this links nobody (default 50): a carrier-grade NAT address
   * or a payment aggregator's account would otherwise join thousands of strangers into one ring.
   */
  maxSharers?: number;
}

export const DEFAULT_MIN_BAD_MEMBERS = 2;
export const DEFAULT_MAX_SHARERS = 50;

/** One shared value of a ring: what it is (for people) and which members were seen with it. */
export interface RingLink {
  kind: LinkKind;
  label: string;
  members: SellerRef[];
}

export interface RingMember extends SellerRef {
  rejected: number;
  frozen: number;
}

export interface Ring {
  /** `rng_` + 26 characters derived from the members: the same members give the same id. */
  id: string;
  members: RingMember[];
  links: RingLink[];
  /** Members with a rejected or frozen order. */
  badMembers: number;
  flagged: boolean;
}

export interface RingsResult {
  /** By id. */
  rings: Ring[];
  /** Values left out for being shared by more than `maxSharers` sellers. */
  ignored: { kind: LinkKind; label: string; sharers: number }[];
}

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
const keyOf = (s: SellerRef) => `${s.channelId}\u0000${s.sellerId}`;
const bySeller = (a: SellerRef, b: SellerRef) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);

/** A ring's id from its sorted members: 130 bits of SHA-256 in base32 (the shape of other ids). */
export function ringId(members: readonly SellerRef[]): string {
  const digest = createHash('sha256').update(members.map(keyOf).sort().join('\u0001')).digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
    if (out.length === 26) break;
  }
  return `rng_${out}`;
}

export function computeRings(
  links: readonly LinkRow[],
  outcomes: readonly OutcomeRow[],
  options: RingOptions = {},
): RingsResult {
  const minBad = options.minBadMembers ?? DEFAULT_MIN_BAD_MEMBERS;
  const maxSharers = options.maxSharers ?? DEFAULT_MAX_SHARERS;

  // The sellers of each value (a seller once per value).
  const values = new Map<string, { kind: LinkKind; label: string; sellers: Map<string, SellerRef> }>();
  for (const l of links) {
    const key = `${l.kind}\u0000${l.valueHash}`;
    let v = values.get(key);
    if (!v) {
      v = { kind: l.kind, label: l.label, sellers: new Map() };
      values.set(key, v);
    }
    v.sellers.set(keyOf(l), { channelId: l.channelId, sellerId: l.sellerId });
  }

  // Sellers and the values that link two or more of them, as one bipartite graph: a value shared
  // by k sellers is k edges, not k² (a ring of 50 behind one router stays cheap).
  const graph = new UndirectedGraph({ allowSelfLoops: false });
  const sellers = new Map<string, SellerRef>();
  const ignored: RingsResult['ignored'] = [];
  for (const [key, v] of values) {
    if (v.sellers.size < 2) continue;
    if (v.sellers.size > maxSharers) {
      ignored.push({ kind: v.kind, label: v.label, sharers: v.sellers.size });
      continue;
    }
    const valueNode = `v\u0000${key}`;
    graph.addNode(valueNode);
    for (const [sk, s] of v.sellers) {
      const sellerNode = `s\u0000${sk}`;
      if (!sellers.has(sk)) {
        sellers.set(sk, s);
        graph.addNode(sellerNode);
      }
      graph.addEdge(valueNode, sellerNode);
    }
  }

  const outcomeOf = new Map(outcomes.map((o) => [keyOf(o), o]));
  const rings: Ring[] = [];
  for (const component of connectedComponents(graph)) {
    const members: RingMember[] = [];
    const ringLinks: RingLink[] = [];
    for (const node of component) {
      const key = node.slice(2);
      if (node.startsWith('s\u0000')) {
        const s = sellers.get(key) as SellerRef;
        const o = outcomeOf.get(key);
        members.push({ ...s, rejected: o?.rejected ?? 0, frozen: o?.frozen ?? 0 });
      } else {
        const v = values.get(key);
        if (v)
          ringLinks.push({ kind: v.kind, label: v.label, members: [...v.sellers.values()].sort(bySeller) });
      }
    }
    if (members.length < 2) continue;
    members.sort(bySeller);
    ringLinks.sort((a, b) =>
      a.kind !== b.kind ? (a.kind < b.kind ? -1 : 1) : a.label < b.label ? -1 : a.label > b.label ? 1 : 0,
    );
    const badMembers = members.filter((m) => m.rejected > 0 || m.frozen > 0).length;
    rings.push({ id: ringId(members), members, links: ringLinks, badMembers, flagged: badMembers >= minBad });
  }
  rings.sort((a, b) => (a.id < b.id ? -1 : 1));
  ignored.sort((a, b) => b.sharers - a.sharers);
  return { rings, ignored };
}
