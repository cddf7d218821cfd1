import { describe, expect, it } from 'vitest';
import type { LinkKind } from './links.js';
import { computeRings, type LinkRow, type OutcomeRow, ringId } from './rings.js';

const link = (sellerId: string, kind: LinkKind, value: string, channelId = 'ch_1'): LinkRow => ({
  channelId,
  sellerId,
  kind,
  valueHash: `h-${kind}-${value}`,
  label: `${kind} ${value}`,
});
const bad = (sellerId: string, rejected = 1, frozen = 0, channelId = 'ch_1'): OutcomeRow => ({
  channelId,
  sellerId,
  rejected,
  frozen,
});
const ids = (r: { members: { sellerId: string }[] }) => r.members.map((m) => m.sellerId);

describe('fraud rings', () => {
  it('groups sellers linked through any chain of shared values, and leaves loners out', () => {
    const { rings } = computeRings(
      [
        // a–b share a device, b–c an IP: one ring of three, though a and c share nothing.
        link('a', 'device', 'd1'),
        link('b', 'device', 'd1'),
        link('b', 'ip', 'i1'),
        link('c', 'ip', 'i1'),
        // d–e share a payout destination, in two channels.
        link('d', 'destination', 'acct-9', 'ch_1'),
        link('e', 'destination', 'acct-9', 'ch_2'),
        // f alone, with values nobody else has.
        link('f', 'device', 'd9'),
        link('f', 'ip', 'i9'),
        // a's own second device links nobody.
        link('a', 'device', 'd2'),
      ],
      [],
    );
    expect(rings.map(ids).sort()).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
    const abc = rings.find((r) => r.members.length === 3);
    expect(abc?.links).toEqual([
      {
        kind: 'device',
        label: 'device d1',
        members: [
          { channelId: 'ch_1', sellerId: 'a' },
          { channelId: 'ch_1', sellerId: 'b' },
        ],
      },
      {
        kind: 'ip',
        label: 'ip i1',
        members: [
          { channelId: 'ch_1', sellerId: 'b' },
          { channelId: 'ch_1', sellerId: 'c' },
        ],
      },
    ]);
    const de = rings.find((r) => r.members.length === 2);
    expect(de?.members.map((m) => m.channelId)).toEqual(['ch_1', 'ch_2']);
  });

  it('flags a ring when at least minBadMembers members had orders rejected or frozen', () => {
    const links = [link('a', 'ip', 'x'), link('b', 'ip', 'x'), link('c', 'ip', 'x')];
    const one = computeRings(links, [bad('a', 3, 1)]);
    expect(one.rings[0]).toMatchObject({ badMembers: 1, flagged: false });
    expect(one.rings[0]?.members[0]).toMatchObject({ sellerId: 'a', rejected: 3, frozen: 1 });
    const two = computeRings(links, [bad('a'), bad('c', 0, 1), bad('zz', 5, 5)]);
    expect(two.rings[0]).toMatchObject({ badMembers: 2, flagged: true });
    expect(computeRings(links, [bad('a'), bad('c', 0, 1)], { minBadMembers: 3 }).rings[0]?.flagged).toBe(
      false,
    );
    // An outcome row with nothing counted is not a bad member; the same seller in another channel is another seller.
    expect(computeRings(links, [bad('a', 0, 0), bad('b', 1, 0, 'ch_2')]).rings[0]?.badMembers).toBe(0);
  });

  it('ignores a value shared by more than maxSharers sellers, so a carrier NAT does not glue everyone together', () => {
    const nat = Array.from({ length: 5000 }, (_, i) => link(`s${i}`, 'ip', 'carrier-nat'));
    const links = [...nat, link('s1', 'device', 'dx'), link('s2', 'device', 'dx')];
    const result = computeRings(links, [bad('s1'), bad('s2'), bad('s3')]);
    expect(result.rings.map(ids)).toEqual([['s1', 's2']]);
    expect(result.rings[0]?.links.map((l) => l.label)).toEqual(['device dx']);
    expect(result.ignored).toEqual([{ kind: 'ip', label: 'ip carrier-nat', sharers: 5000 }]);
    // At the cap it still links; one above, it does not.
    const fifty = Array.from({ length: 50 }, (_, i) => link(`t${i}`, 'ip', 'office'));
    expect(computeRings(fifty, []).rings[0]?.members).toHaveLength(50);
    expect(computeRings(fifty, [], { maxSharers: 49 }).rings).toEqual([]);
  });

  it('gives the same members the same id, whatever the order they come in', () => {
    const a = { channelId: 'ch_1', sellerId: 'a' };
    const b = { channelId: 'ch_2', sellerId: 'b' };
    expect(ringId([a, b])).toBe(ringId([b, a]));
    expect(ringId([a, b])).toMatch(/^rng_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(ringId([a, { ...b, sellerId: 'c' }])).not.toBe(ringId([a, b]));
    const links = [link('a', 'ip', 'x'), link('b', 'ip', 'x')];
    expect(computeRings(links, []).rings[0]?.id).toBe(computeRings([...links].reverse(), []).rings[0]?.id);
  });
});
