/**
 * Business days in a channel's time zone, pure (docs/settlement.md#cycles). Day D runs from D at the
 * cut-off (local) to D+1 at the cut-off. Time zones come from the runtime's ICU data.
 */
const formats = new Map<string, Intl.DateTimeFormat>();

function format(tz: string): Intl.DateTimeFormat {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(tz, f);
  }
  return f;
}

function localParts(ms: number, tz: string) {
  const p: Record<string, number> = {};
  for (const part of format(tz).formatToParts(new Date(ms)))
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  return p as { year: number; month: number; day: number; hour: number; minute: number; second: number };
}

/** The zone's offset from UTC at that instant, in ms. */
function offsetMs(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

function cutoffMinutes(cutoff: string): number {
  const [h = '0', m = '0'] = cutoff.split(':');
  return Number(h) * 60 + Number(m);
}

const dateOf = (p: { year: number; month: number; day: number }) =>
  `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;

/**
 * YYYY-MM-DD of the business day that instant belongs to: the latest day whose start (below) is not
 * after it. Defined by the starts, so it only ever moves forward, also when daylight saving repeats
 * or skips the cut-off.
 */
export function businessDate(ms: number, tz: string, cutoff: string): string {
  const wall = dateOf(localParts(ms, tz));
  if (ms < startOfBusinessDate(wall, tz, cutoff)) return addDays(wall, -1);
  const next = addDays(wall, 1);
  return ms >= startOfBusinessDate(next, tz, cutoff) ? next : wall;
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/**
 * When business day `date` begins: the first instant the local clock shows its cut-off on that date.
 * A cut-off repeated by a fall-back counts at its first passing; one skipped by a spring-forward
 * begins the day when the clock jumps past it.
 */
export function startOfBusinessDate(date: string, tz: string, cutoff: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const c = cutoffMinutes(cutoff);
  const guess = Date.UTC(y, m - 1, d, Math.floor(c / 60), c % 60);
  // The two offsets in force around it (equal on most days).
  const before = guess - offsetMs(guess - 43_200_000, tz);
  const after = guess - offsetMs(guess + 43_200_000, tz);
  const shows = (t: number) => {
    const p = localParts(t, tz);
    return dateOf(p) === date && p.hour * 60 + p.minute === c;
  };
  const matching = [before, after].filter(shows);
  if (matching.length > 0) return Math.min(...matching);
  return Math.max(before, after);
}
