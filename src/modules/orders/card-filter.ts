/**
 * A Bloom filter over card hashes, so that intake skips the database lookup for cards it has never
 * seen. The inputs are already uniformly random (HMAC-SHA256 or HMAC-SM3), so the k bit positions are taken
 * straight from the hash bytes instead of hashing again. A "maybe" costs one indexed query; the
 * unique index stays the truth, so a filter that misses another process's insert is still safe.
 */
export class CardFilter {
  private readonly bits: Uint8Array;
  private readonly size: number;

  constructor(
    sizeBits = 1 << 24,
    private readonly k = 7,
  ) {
    if (k < 1 || k > 8) throw new Error('k must be 1..8: a 32-byte hash gives eight 32-bit positions');
    this.size = sizeBits;
    this.bits = new Uint8Array(Math.ceil(sizeBits / 8));
  }

  private positions(hashHex: string): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.k; i++)
      out.push(Number.parseInt(hashHex.slice(i * 8, i * 8 + 8), 16) % this.size);
    return out;
  }

  add(hashHex: string): void {
    for (const p of this.positions(hashHex)) this.bits[p >> 3] = (this.bits[p >> 3] ?? 0) | (1 << (p & 7));
  }

  mightContain(hashHex: string): boolean {
    return this.positions(hashHex).every((p) => ((this.bits[p >> 3] ?? 0) & (1 << (p & 7))) !== 0);
  }
}
