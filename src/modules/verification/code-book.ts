import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import { type CodeRow, interpret, type Verdict } from './decide.js';
import { codesOf } from './store.js';

/** The issuers' mapping tables, read from the database and trusted for a few seconds. */
export class CodeBook {
  private cache: { at: number; codes: Map<string, CodeRow> } | undefined;
  private loading: Promise<Map<string, CodeRow>> | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly cacheMs = 5000,
  ) {}

  private async table(): Promise<Map<string, CodeRow>> {
    const now = this.clock.now();
    if (this.cache && now - this.cache.at < this.cacheMs) return this.cache.codes;
    this.loading ??= codesOf(this.db)
      .then((rows) => new Map(rows.map((r) => [`${r.issuer}\u0000${r.raw_code}`, { reason: r.reason }])))
      .finally(() => {
        this.loading = undefined;
      });
    const codes = await this.loading;
    this.cache = { at: now, codes };
    return codes;
  }

  async row(issuer: string, rawCode: string): Promise<CodeRow> {
    return (await this.table()).get(`${issuer}\u0000${rawCode}`);
  }

  async verdict(issuer: string, rawCode: string): Promise<Verdict> {
    return interpret(await this.row(issuer, rawCode));
  }

  /** Forget the cache (after an admin change in this process). */
  invalidate(): void {
    this.cache = undefined;
  }
}
