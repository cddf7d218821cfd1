import { Readable } from 'node:stream';

export interface UploadLimits {
  /** A write past this many bytes fails the file. */
  maxFileBytes: number;
  /**
   * Bytes held in memory for one file: written out of order and waiting for the gap before them, plus
   * pushed to `body` and not yet read by the port. Past it the write fails (and the file with it).
   */
  maxBufferedBytes: number;
  /** Writes waiting for a gap before them, at most (bounds the bookkeeping of tiny writes). */
  maxPendingWrites: number;
  /** `body`'s high-water mark: above it, write acknowledgements wait until the port reads. */
  highWaterMark: number;
}

/** null: the write is taken; a string: it failed, and why (safe to show the client). */
export type Ack = (failure: string | null) => void;

/**
 * One file being put: SFTP WRITE requests (offset, bytes) in, one ordered byte stream (`body`) out.
 *
 * Writes may arrive out of offset order (clients pipeline them); one past the next expected offset is
 * held until the gap before it is filled, and contiguous bytes go to `body` at once. A write's
 * acknowledgement is held while `body` is above its high-water mark and sent when the port reads
 * again, so that a client that waits for its acknowledgements (every common one keeps a bounded number
 * of writes in flight) is slowed to the port's pace. A client that does not wait is stopped by
 * `maxBufferedBytes`. Any failure is final: `body` is destroyed with the reason, so that the port's
 * `receive` rejects and discards what it read.
 */
export class Upload {
  readonly body: Readable;
  private next = 0;
  private readonly pending = new Map<number, Buffer>();
  private pendingBytes = 0;
  private held: Ack[] = [];
  private full = false;
  private ended = false;
  private failure: string | null = null;

  constructor(private readonly limits: UploadLimits) {
    this.body = new Readable({ highWaterMark: limits.highWaterMark, read: () => this.onRead() });
    // The port sees the error through its own listeners or iterator; without one, a destroyed body
    // must not become an uncaught exception.
    this.body.on('error', () => undefined);
  }

  /** Bytes streamed to `body` so far (the file's size once finished). */
  get received(): number {
    return this.next;
  }

  get failed(): string | null {
    return this.failure;
  }

  /** Finished: `body` has ended, every byte is in it. */
  get isEnded(): boolean {
    return this.ended;
  }

  write(offset: number, data: Buffer, ack: Ack): void {
    const failure = this.take(offset, data);
    if (failure !== null) {
      this.fail(failure);
      ack(failure);
    } else if (this.full) {
      this.held.push(ack);
    } else {
      ack(null);
    }
  }

  /** Takes a write into the stream or the pending writes; returns why it cannot be, or null. */
  private take(offset: number, data: Buffer): string | null {
    if (this.failure !== null) return this.failure;
    if (this.ended) return 'the file is closed';
    if (this.body.destroyed) return 'the file was refused';
    if (data.length === 0) return null;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > this.limits.maxFileBytes) {
      return `the file is larger than ${this.limits.maxFileBytes} bytes`;
    }
    if (offset < this.next || this.pending.has(offset))
      return `bytes at offset ${offset} were already written`;
    if (offset > this.next) {
      if (this.pending.size >= this.limits.maxPendingWrites) return 'too many writes out of order';
      this.pendingBytes += data.length;
      this.pending.set(offset, data);
    } else {
      this.push(data);
      for (let chunk = this.pending.get(this.next); chunk; chunk = this.pending.get(this.next)) {
        this.pending.delete(this.next);
        this.pendingBytes -= chunk.length;
        this.push(chunk);
      }
    }
    if (this.pendingBytes + this.body.readableLength > this.limits.maxBufferedBytes) {
      return 'too much data written ahead of what was taken';
    }
    return null;
  }

  /**
   * The client closed the file: ends `body` if every byte up to the last one written is there, else
   * fails the file. Returns the failure, or null. Held acknowledgements are sent (the bytes are taken).
   */
  finish(): string | null {
    if (this.failure !== null || this.ended) return this.failure;
    if (this.body.destroyed) {
      this.fail('the file was refused');
      return this.failure;
    }
    if (this.pending.size > 0) {
      const first = Math.min(...this.pending.keys());
      this.fail(
        first < this.next
          ? `writes overlap at offset ${first}`
          : `the file has a gap at offset ${this.next} (bytes after it were written, not the bytes at it)`,
      );
      return this.failure;
    }
    this.ended = true;
    this.body.push(null);
    this.release(null);
    return null;
  }

  /** Fails the file for good: `body` is destroyed with `message`, held writes get it too. */
  fail(message: string): void {
    if (this.failure !== null || this.ended) return;
    this.failure = message;
    this.pending.clear();
    this.pendingBytes = 0;
    this.body.destroy(new Error(message));
    this.release(message);
  }

  /**
   * The port resolved before `body` ended: it will not read the rest. What is still written is let go,
   * unread, so that the client is not held up forever.
   */
  abandon(): void {
    this.body.resume();
  }

  private push(data: Buffer): void {
    this.next += data.length;
    if (!this.body.push(data)) this.full = true;
  }

  private onRead(): void {
    this.full = false;
    this.release(null);
  }

  private release(failure: string | null): void {
    const held = this.held;
    this.held = [];
    for (const ack of held) ack(failure);
  }
}
