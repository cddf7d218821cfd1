import { describe, expect, it } from 'vitest';
import { Upload, type UploadLimits } from './upload.js';

const limits: UploadLimits = {
  maxFileBytes: 1000,
  maxBufferedBytes: 100,
  maxPendingWrites: 4,
  highWaterMark: 10,
};

/** Writes `data` at `offset` and says what the acknowledgement was, or 'held' while there is none. */
function writer(upload: Upload) {
  const acks: Array<string | null | 'held'> = [];
  return {
    acks,
    write(offset: number, text: string): number {
      const i = acks.push('held') - 1;
      upload.write(offset, Buffer.from(text), (failure) => {
        acks[i] = failure;
      });
      return i;
    },
  };
}

async function drain(upload: Upload): Promise<{ text: string; error: string | null }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of upload.body) chunks.push(chunk as Buffer);
    return { text: Buffer.concat(chunks).toString(), error: null };
  } catch (err) {
    return { text: Buffer.concat(chunks).toString(), error: (err as Error).message };
  }
}

describe('an upload: SFTP writes in, one ordered stream out', () => {
  it('streams writes in offset order, holding one that arrives before the gap before it is filled', async () => {
    const upload = new Upload({ ...limits, highWaterMark: 1000 });
    const w = writer(upload);
    w.write(6, 'world');
    w.write(0, 'hello ');
    w.write(11, '!');
    expect(upload.received).toBe(12);
    expect(upload.finish()).toBeNull();
    expect(await drain(upload)).toEqual({ text: 'hello world!', error: null });
    expect(w.acks).toEqual([null, null, null]);
  });

  it('holds acknowledgements while the stream is above its high-water mark, sends them when it is read', async () => {
    const upload = new Upload(limits);
    const w = writer(upload);
    w.write(0, '0123456789'); // reaches the high-water mark: not acknowledged until read
    w.write(10, 'abc');
    expect(w.acks).toEqual(['held', 'held']);
    upload.body.read();
    await new Promise((r) => setImmediate(r));
    expect(w.acks).toEqual([null, null]);
  });

  it('fails the file past maxFileBytes, and the stream errors (never ends)', async () => {
    const upload = new Upload({ ...limits, maxFileBytes: 8, highWaterMark: 1000 });
    const w = writer(upload);
    w.write(0, 'abcd');
    w.write(4, 'efghi');
    expect(w.acks).toEqual([null, 'the file is larger than 8 bytes']);
    expect(upload.finish()).toBe('the file is larger than 8 bytes');
    expect((await drain(upload)).error).toBe('the file is larger than 8 bytes');
  });

  it('fails a file with a gap at its close, or writes that overlap', async () => {
    const gap = new Upload(limits);
    writer(gap).write(5, 'late');
    expect(gap.finish()).toMatch(/gap at offset 0/);
    expect((await drain(gap)).error).toMatch(/gap/);

    const rewrite = new Upload({ ...limits, highWaterMark: 1000 });
    const w = writer(rewrite);
    w.write(0, 'abc');
    w.write(1, 'x');
    expect(w.acks[1]).toMatch(/already written/);

    const overlap = new Upload({ ...limits, highWaterMark: 1000 });
    const o = writer(overlap);
    o.write(2, 'cd');
    o.write(3, 'zz');
    o.write(0, 'ab');
    expect(overlap.finish()).toBe('writes overlap at offset 3');
  });

  it('bounds what is held in memory: bytes ahead of a gap, unread bytes, and the number of writes ahead', () => {
    const ahead = new Upload(limits);
    writer(ahead).write(1, 'x'.repeat(101));
    expect(ahead.failed).toBe('too much data written ahead of what was taken');

    const unread = new Upload(limits);
    const u = writer(unread);
    for (let i = 0; i < 11; i++) u.write(i * 10, '0123456789');
    expect(unread.failed).toBe('too much data written ahead of what was taken');
    expect(u.acks.every((a) => a === 'too much data written ahead of what was taken')).toBe(true);

    const many = new Upload(limits);
    const m = writer(many);
    for (let i = 1; i <= 5; i++) m.write(i * 2, 'y');
    expect(m.acks.at(-1)).toBe('too many writes out of order');
  });

  it('fails every later write with the reason once failed', async () => {
    const upload = new Upload({ ...limits, highWaterMark: 1000 });
    const w = writer(upload);
    w.write(0, 'ab');
    upload.fail('line 1: unknown card type');
    w.write(2, 'cd');
    expect(w.acks).toEqual([null, 'line 1: unknown card type']);
    expect((await drain(upload)).error).toBe('line 1: unknown card type');
  });

  it('takes an empty file and empty writes', async () => {
    const upload = new Upload(limits);
    const w = writer(upload);
    w.write(0, '');
    expect(w.acks).toEqual([null]);
    expect(upload.finish()).toBeNull();
    expect(await drain(upload)).toEqual({ text: '', error: null });
  });
});
