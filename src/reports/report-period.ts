import { isTimeZone, localParts, zonedTimeToUtc } from '../sla/business-hours';
import type { ReportPeriod } from './dto/report-query.dto';

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const HAS_ZONE = /(Z|[+-]\d{2}(:?\d{2})?)$/i;

/** Thrown for a period that cannot be built (the controller answers 400). */
export class ReportPeriodError extends Error {}

/** Midnight of a calendar date (month 1-12, day may overflow) in `zone`. */
function midnight(zone: string, y: number, m: number, d: number): Date {
  const day = new Date(Date.UTC(y, m - 1, d));
  return new Date(zonedTimeToUtc(zone, day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), 0));
}

/** A `from`/`to` value: a date is midnight in `zone` (`to` dates include that day); a date-time needs a zone. */
function boundary(name: string, value: string, zone: string, end: boolean): Date {
  const m = DATE_ONLY.exec(value);
  if (m) {
    const d = midnight(zone, Number(m[1]), Number(m[2]), Number(m[3]) + (end ? 1 : 0));
    const check = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    if (check.getUTCMonth() + 1 !== Number(m[2])) throw new ReportPeriodError(`${name} is not a valid date`);
    return d;
  }
  if (!HAS_ZONE.test(value))
    throw new ReportPeriodError(`${name} must be a date or a date-time with a zone (Z or +01:00)`);
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new ReportPeriodError(`${name} is not a valid date`);
  return d;
}

/**
 * The [from, to) range of a report: `period` (today, this ISO week from Monday, this month) or
 * `from`/`to`, with calendar boundaries in `zone` (so daylight-saving days are 23 or 25 hours long).
 */
export function reportRange(
  q: { period?: ReportPeriod; from?: string; to?: string },
  zone: string,
  now = new Date(),
): { from: Date; to: Date } {
  if (!isTimeZone(zone)) throw new ReportPeriodError(`tz must be an IANA time zone like Europe/Berlin (got "${zone}")`);
  if (q.period && (q.from || q.to)) throw new ReportPeriodError('give either period or from/to, not both');
  if (q.from || q.to) {
    if (!q.from) throw new ReportPeriodError('to needs from');
    const from = boundary('from', q.from, zone, false);
    const to = q.to ? boundary('to', q.to, zone, true) : now;
    if (to <= from) throw new ReportPeriodError('to must be after from');
    return { from, to };
  }
  const p = localParts(now.getTime(), zone);
  switch (q.period ?? 'today') {
    case 'today':
      return { from: midnight(zone, p.year, p.month, p.day), to: midnight(zone, p.year, p.month, p.day + 1) };
    case 'week': {
      const back = (p.weekday + 6) % 7;
      return {
        from: midnight(zone, p.year, p.month, p.day - back),
        to: midnight(zone, p.year, p.month, p.day - back + 7),
      };
    }
    case 'month':
      return { from: midnight(zone, p.year, p.month, 1), to: midnight(zone, p.year, p.month + 1, 1) };
  }
}
