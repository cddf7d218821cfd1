import { describe, expect, it } from 'vitest';
import { addDays, businessDate, startOfBusinessDate } from './business-day.js';

describe('business days', () => {
  it('Asia/Shanghai at 00:00: 15:59:59Z is still today, 16:00Z is tomorrow', () => {
    expect(businessDate(Date.parse('2026-12-01T15:59:59Z'), 'Asia/Shanghai', '00:00')).toBe('2026-12-01');
    expect(businessDate(Date.parse('2026-12-01T16:00:00Z'), 'Asia/Shanghai', '00:00')).toBe('2026-12-02');
    expect(startOfBusinessDate('2026-12-02', 'Asia/Shanghai', '00:00')).toBe(
      Date.parse('2026-12-01T16:00:00Z'),
    );
  });

  it('a 22:00 cut-off moves the evening into the next day', () => {
    expect(businessDate(Date.parse('2026-12-01T13:59:00Z'), 'Asia/Shanghai', '22:00')).toBe('2026-11-30');
    expect(businessDate(Date.parse('2026-12-01T14:00:00Z'), 'Asia/Shanghai', '22:00')).toBe('2026-12-01');
    expect(startOfBusinessDate('2026-12-01', 'Asia/Shanghai', '22:00')).toBe(
      Date.parse('2026-12-01T14:00:00Z'),
    );
  });

  it('follows daylight saving time (Europe/Berlin)', () => {
    expect(startOfBusinessDate('2026-07-01', 'Europe/Berlin', '00:00')).toBe(
      Date.parse('2026-06-30T22:00:00Z'),
    );
    expect(startOfBusinessDate('2026-12-01', 'Europe/Berlin', '00:00')).toBe(
      Date.parse('2026-11-30T23:00:00Z'),
    );
    expect(businessDate(Date.parse('2026-06-30T22:30:00Z'), 'Europe/Berlin', '00:00')).toBe('2026-07-01');
  });

  it('adds days across months and years', () => {
    expect(addDays('2026-12-30', 3)).toBe('2027-01-02');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
  });
});

describe('business days around daylight saving changes', () => {
  it('every instant of a year falls in the day whose window holds it, in zones with DST', () => {
    for (const [tz, cutoff] of [
      ['America/New_York', '02:00'],
      ['America/Santiago', '00:00'],
      ['Europe/Berlin', '02:30'],
      ['Asia/Shanghai', '00:00'],
    ] as const) {
      for (
        let ms = Date.parse('2026-01-01T00:00:00Z');
        ms < Date.parse('2027-01-01T00:00:00Z');
        ms += 17 * 60_000
      ) {
        const day = businessDate(ms, tz, cutoff);
        const start = startOfBusinessDate(day, tz, cutoff);
        const end = startOfBusinessDate(addDays(day, 1), tz, cutoff);
        // Where the cut-off itself falls in a skipped hour the window edge moves by that hour.
        if (!(start <= ms && ms < end))
          throw new Error(`${tz} ${cutoff} ${new Date(ms).toISOString()} → ${day}`);
      }
    }
  });
});
