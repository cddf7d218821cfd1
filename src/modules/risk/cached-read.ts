/**
 * A value read from the database and kept for `ttlMs`, so that rules do not read their settings on
 * every order. A read that began before `invalidate()` is returned to its caller but not kept: without
 * that, a read in flight while an admin changed a rule would put the old value back for a whole TTL.
 */
export class CachedRead<T> {
  private entry: { at: number; value: T } | undefined;
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The kept value, fresh or not; undefined before the first read and after `invalidate()`. */
  peek(): T | undefined {
    return this.entry?.value;
  }

  /** The kept value while fresh, otherwise a new read through `read`. */
  async get(read: () => Promise<T>): Promise<T> {
    const entry = this.entry;
    if (entry && this.now() - entry.at < this.ttlMs) return entry.value;
    return this.reload(read);
  }

  /** Reads again now; the value is kept unless `invalidate()` was called meanwhile. */
  async reload(read: () => Promise<T>): Promise<T> {
    const generation = this.generation;
    // The age counts from before the read: what it returns may be that old.
    const at = this.now();
    const value = await read();
    if (generation === this.generation) this.entry = { at, value };
    return value;
  }

  /** Drops the kept value and disowns reads in flight (call after a change is committed). */
  invalidate(): void {
    this.generation++;
    this.entry = undefined;
  }
}
