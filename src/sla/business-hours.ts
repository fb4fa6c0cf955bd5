/**
 * Business time: a weekly schedule of opening hours in one IANA time zone, and SLA due dates
 * counted in it. Zone offsets come from Intl.DateTimeFormat, so daylight-saving changes are right
 * without a time-zone library.
 */

/** Opening intervals per weekday (0 = Sunday ... 6 = Saturday), minutes from local midnight, [open, close). */
export type WeeklySchedule = Array<Array<[number, number]>>;

/** A schedule that is always open (the default). */
export const ALWAYS_OPEN: WeeklySchedule | null = null;

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** `09:00` -> 540; `24:00` allowed as a closing time. */
function minutesOf(hhmm: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (!m || Number(m[2]) > 59 || Number(m[1]) * 60 + Number(m[2]) > 24 * 60)
    throw new Error(`"${hhmm}" is not a time HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}

function dayIndex(name: string): number {
  const i = DAYS.indexOf(name.slice(0, 3).toLowerCase());
  if (i < 0 || name.length < 3) throw new Error(`"${name}" is not a weekday (Mon, Tue, ...)`);
  return i;
}

/**
 * Parses a schedule like `Mon-Fri 09:00-17:00` or `Mon-Fri 08:00-12:00,13:00-17:00; Sat 10:00-14:00`
 * (parts separated by `;`, a day range or a comma list of days, then one or more intervals).
 * Empty or `always` means always open (null). Throws with a message naming the bad part.
 */
export function parseBusinessHours(spec: string | undefined): WeeklySchedule | null {
  const text = (spec ?? '').trim();
  if (text === '' || /^(always|24\/7)$/i.test(text)) return ALWAYS_OPEN;
  const week: WeeklySchedule = DAYS.map(() => []);
  for (const part of text
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z,\s-]+?)\s+([\d:,\s-]+)$/.exec(part);
    if (!m) throw new Error(`"${part}" is not "Days HH:MM-HH:MM"`);
    const days = new Set<number>();
    for (const d of m[1]
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [from, to] = d.split('-').map((s) => s.trim());
      const a = dayIndex(from);
      const b = to === undefined ? a : dayIndex(to);
      for (let i = a; ; i = (i + 1) % 7) {
        days.add(i);
        if (i === b) break;
      }
    }
    for (const interval of m[2]
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [open, close] = interval.split('-').map((s) => s.trim());
      if (close === undefined) throw new Error(`"${interval}" is not HH:MM-HH:MM`);
      const o = minutesOf(open);
      const c = minutesOf(close);
      if (c <= o) throw new Error(`"${interval}" closes before it opens`);
      for (const d of days) week[d].push([o, c]);
    }
  }
  for (const day of week) day.sort((x, y) => x[0] - y[0]);
  if (week.every((d) => d.length === 0)) throw new Error('the schedule has no opening hours');
  return week;
}

/** Whether `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall-clock fields of instant `ms` in `zone`. */
export function localParts(
  ms: number,
  zone: string,
): { year: number; month: number; day: number; hour: number; minute: number; second: number; weekday: number } {
  const parts: Record<string, string> = {};
  for (const p of formatter(zone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: dayIndex(parts.weekday),
  };
}

/** Offset of `zone` from UTC at instant `ms`, in milliseconds (Berlin in summer: +7,200,000). */
export function zoneOffsetMs(ms: number, zone: string): number {
  const p = localParts(ms, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant of a wall-clock time in `zone` (month 1-12; minutes may exceed 59 or reach 1440).
 * A time skipped by a daylight-saving jump maps to the instant after the jump; an ambiguous one to
 * its first occurrence.
 */
export function zonedTimeToUtc(zone: string, year: number, month: number, day: number, minutes = 0): number {
  const guess = Date.UTC(year, month - 1, day, 0, minutes);
  const first = guess - zoneOffsetMs(guess, zone);
  const second = guess - zoneOffsetMs(first, zone);
  if (first === second) return first;
  // Near a transition: prefer the candidate that shows the requested wall time (or the later one in a gap).
  const shows = (t: number) => t + zoneOffsetMs(t, zone) === guess;
  if (shows(Math.min(first, second))) return Math.min(first, second);
  if (shows(Math.max(first, second))) return Math.max(first, second);
  return Math.max(first, second);
}

/**
 * `start` plus `minutes` of business time: only the schedule's open intervals in `zone` count.
 * With no schedule (always open) it is plain addition.
 */
export function addBusinessMinutes(start: Date, minutes: number, schedule: WeeklySchedule | null, zone: string): Date {
  if (!schedule || minutes <= 0) return new Date(start.getTime() + Math.max(0, minutes) * 60_000);
  let remaining = minutes * 60_000;
  let cursor = start.getTime();
  const p = localParts(cursor, zone);
  // Walk local calendar days from the start day; 8 weeks per year of target is far more than enough.
  let day = Date.UTC(p.year, p.month - 1, p.day);
  const maxDays = 7 * 8 * Math.max(1, Math.ceil(minutes / (60 * 24 * 7)));
  for (let i = 0; i < maxDays; i++, day += 86_400_000) {
    const d = new Date(day);
    const [y, m, dd] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    for (const [open, close] of schedule[d.getUTCDay()]) {
      const from = Math.max(cursor, zonedTimeToUtc(zone, y, m, dd, open));
      const to = zonedTimeToUtc(zone, y, m, dd, close);
      if (from >= to) continue;
      if (remaining <= to - from) return new Date(from + remaining);
      remaining -= to - from;
      cursor = to;
    }
  }
  throw new Error('business time could not be counted: the schedule is too sparse for this target');
}
