import type { Logger } from '../../shared/logger.js';
import type { Db, Dialect } from '../../storage/database.js';
import { sequencePending } from './store.js';

const BATCH = 1_000;
/** An append in this process wakes the sequencer this long after, when its commit has usually landed. */
const AFTER_APPEND_MS = 2;

/**
 * PostgreSQL: numbers committed events in commit order (decision 0017). Runs in every worker
 * process; one at a time does the work (the others skip the locked counter). Events are listed as
 * soon as they are numbered: within `pollMs` of their commit, sooner when written in this process.
 * SQLite numbers events as it writes them and needs no sequencer.
 */
export class Sequencer {
  private running = false;
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
    private readonly pollMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.dialect !== 'postgres' || this.loopDone) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** An event was written here: look soon. */
  nudge(): void {
    if (!this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wake?.();
    }, AFTER_APPEND_MS);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let full = false;
      try {
        full = (await sequencePending(this.db, BATCH)) === BATCH;
      } catch (err) {
        this.logger.error({ err }, 'numbering events failed; retrying at next poll');
      }
      if (!full && this.running) await this.sleep();
    }
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, this.pollMs);
      const self = this;
      function done() {
        clearTimeout(t);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }
}
