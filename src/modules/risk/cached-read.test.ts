import { describe, expect, it } from 'vitest';
import { CachedRead } from './cached-read.js';

describe('CachedRead', () => {
  it('keeps a value for its TTL, then reads again', async () => {
    let now = 0;
    let reads = 0;
    const cache = new CachedRead<number>(1000, () => now);
    const read = async () => ++reads;
    expect(await cache.get(read)).toBe(1);
    now = 999;
    expect(await cache.get(read)).toBe(1);
    now = 1000;
    expect(await cache.get(read)).toBe(2);
  });

  it('does not keep a read that was in flight when the value was invalidated', async () => {
    // The race behind a flaky test: a worker read the old rule settings, an admin changed a rule
    // (invalidate), then the old read landed and was kept for a whole TTL.
    const cache = new CachedRead<string>(60_000);
    let release: (v: string) => void = () => {};
    const stale = cache.get(() => new Promise<string>((resolve) => (release = resolve)));
    cache.invalidate();
    expect(await cache.get(async () => 'new')).toBe('new');
    release('old');
    expect(await stale).toBe('old'); // its caller still gets what it read
    expect(cache.peek()).toBe('new');
    expect(await cache.get(async () => 'read again')).toBe('new');
  });

  it('counts the age from before the read', async () => {
    let now = 0;
    const cache = new CachedRead<number>(100, () => now);
    await cache.get(async () => {
      now = 60; // a slow read
      return 1;
    });
    now = 100;
    expect(await cache.get(async () => 2)).toBe(2);
  });
});
