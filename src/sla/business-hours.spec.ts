import { addBusinessMinutes, isTimeZone, parseBusinessHours, zonedTimeToUtc, zoneOffsetMs } from './business-hours';

const at = (iso: string) => new Date(iso);

describe('parseBusinessHours', () => {
  it('reads a day range with one interval', () => {
    const week = parseBusinessHours('Mon-Fri 09:00-17:00')!;
    expect(week[1]).toEqual([[540, 1020]]);
    expect(week[5]).toEqual([[540, 1020]]);
    expect(week[0]).toEqual([]);
    expect(week[6]).toEqual([]);
  });

  it('reads several parts, day lists, split days and 24:00', () => {
    const week = parseBusinessHours('Mon,Wed 08:00-12:00,13:00-17:00; Sat 10:00-24:00')!;
    expect(week[1]).toEqual([
      [480, 720],
      [780, 1020],
    ]);
    expect(week[3]).toEqual(week[1]);
    expect(week[2]).toEqual([]);
    expect(week[6]).toEqual([[600, 1440]]);
  });

  it('wraps a day range over the weekend', () => {
    const week = parseBusinessHours('Fri-Mon 10:00-11:00')!;
    expect(week.map((d) => d.length)).toEqual([1, 1, 0, 0, 0, 1, 1]);
  });

  it('treats empty and "always" as always open', () => {
    expect(parseBusinessHours('')).toBeNull();
    expect(parseBusinessHours(undefined)).toBeNull();
    expect(parseBusinessHours('always')).toBeNull();
  });

  it('refuses malformed schedules with a message', () => {
    expect(() => parseBusinessHours('Mon-Fri')).toThrow(/Days HH:MM-HH:MM/);
    expect(() => parseBusinessHours('Mox 09:00-17:00')).toThrow(/not a weekday/);
    expect(() => parseBusinessHours('Mon 17:00-09:00')).toThrow(/closes before it opens/);
    expect(() => parseBusinessHours('Mon 09:70-10:00')).toThrow(/not a time/);
  });
});

describe('time zone offsets', () => {
  it('knows Berlin in winter and summer, and UTC', () => {
    expect(zoneOffsetMs(at('2026-01-15T12:00:00Z').getTime(), 'Europe/Berlin')).toBe(3600_000);
    expect(zoneOffsetMs(at('2026-07-15T12:00:00Z').getTime(), 'Europe/Berlin')).toBe(7200_000);
    expect(zoneOffsetMs(at('2026-07-15T12:00:00Z').getTime(), 'UTC')).toBe(0);
    expect(zoneOffsetMs(at('2026-07-15T12:00:00Z').getTime(), 'America/New_York')).toBe(-4 * 3600_000);
  });

  it('maps wall-clock times to instants, across daylight-saving changes', () => {
    expect(new Date(zonedTimeToUtc('Europe/Berlin', 2026, 1, 15, 9 * 60)).toISOString()).toBe(
      '2026-01-15T08:00:00.000Z',
    );
    expect(new Date(zonedTimeToUtc('Europe/Berlin', 2026, 7, 15, 9 * 60)).toISOString()).toBe(
      '2026-07-15T07:00:00.000Z',
    );
    // 2026-03-29: 02:00 -> 03:00 in Berlin. Midnight is still +01:00, 04:00 already +02:00.
    expect(new Date(zonedTimeToUtc('Europe/Berlin', 2026, 3, 29, 0)).toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(new Date(zonedTimeToUtc('Europe/Berlin', 2026, 3, 29, 4 * 60)).toISOString()).toBe(
      '2026-03-29T02:00:00.000Z',
    );
    // 2026-10-25: 03:00 -> 02:00. 01:00 is +02:00, 05:00 is +01:00.
    expect(new Date(zonedTimeToUtc('Europe/Berlin', 2026, 10, 25, 60)).toISOString()).toBe('2026-10-24T23:00:00.000Z');
    expect(new Date(zonedTimeToUtc('Europe/Berlin', 2026, 10, 25, 5 * 60)).toISOString()).toBe(
      '2026-10-25T04:00:00.000Z',
    );
  });

  it('tells known time zones from unknown ones', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('addBusinessMinutes', () => {
  const weekdays = parseBusinessHours('Mon-Fri 09:00-17:00');

  it('adds plain minutes when always open', () => {
    expect(addBusinessMinutes(at('2026-11-27T16:00:00Z'), 240, null, 'UTC').toISOString()).toBe(
      '2026-11-27T20:00:00.000Z',
    );
  });

  it('stays within one business day when the target fits', () => {
    // Wednesday 2026-11-25, 10:00 Berlin (09:00Z) + 4 h = 14:00 Berlin.
    expect(addBusinessMinutes(at('2026-11-25T09:00:00Z'), 240, weekdays, 'Europe/Berlin').toISOString()).toBe(
      '2026-11-25T13:00:00.000Z',
    );
  });

  it('carries the rest over the night', () => {
    // Wednesday 15:00 Berlin + 4 h: 2 h today, 2 h Thursday from 09:00 -> 11:00 Berlin.
    expect(addBusinessMinutes(at('2026-11-25T14:00:00Z'), 240, weekdays, 'Europe/Berlin').toISOString()).toBe(
      '2026-11-26T10:00:00.000Z',
    );
  });

  it('skips the weekend', () => {
    // Friday 2026-11-27 16:00 Berlin + 4 h: 1 h Friday, 3 h Monday -> Monday 12:00 Berlin.
    expect(addBusinessMinutes(at('2026-11-27T15:00:00Z'), 240, weekdays, 'Europe/Berlin').toISOString()).toBe(
      '2026-11-30T11:00:00.000Z',
    );
  });

  it('starts counting at opening time when created outside business hours', () => {
    // Saturday 2026-11-28 12:00 Berlin + 60 min -> Monday 10:00 Berlin.
    expect(addBusinessMinutes(at('2026-11-28T11:00:00Z'), 60, weekdays, 'Europe/Berlin').toISOString()).toBe(
      '2026-11-30T09:00:00.000Z',
    );
    // Tuesday 06:00 Berlin + 30 min -> Tuesday 09:30 Berlin.
    expect(addBusinessMinutes(at('2026-11-24T05:00:00Z'), 30, weekdays, 'Europe/Berlin').toISOString()).toBe(
      '2026-11-24T08:30:00.000Z',
    );
  });

  it('counts a two-day resolution target over several business days', () => {
    // 2880 min = 48 business hours = 6 business days of 8 h. Mon 2026-11-23 09:00 Berlin -> Mon 2026-11-30 17:00 Berlin.
    expect(addBusinessMinutes(at('2026-11-23T08:00:00Z'), 2880, weekdays, 'Europe/Berlin').toISOString()).toBe(
      '2026-11-30T16:00:00.000Z',
    );
  });

  it('uses the new offset after a daylight-saving change', () => {
    // Friday 2026-03-27 16:00 Berlin (+01:00) + 2 h -> Monday 2026-03-30 10:00 Berlin (+02:00) = 08:00Z.
    expect(addBusinessMinutes(at('2026-03-27T15:00:00Z'), 120, weekdays, 'Europe/Berlin').toISOString()).toBe(
      '2026-03-30T08:00:00.000Z',
    );
  });

  it('honours split days in another zone', () => {
    const split = parseBusinessHours('Mon-Fri 08:00-12:00,13:00-17:00');
    // Monday 2026-11-23 11:00 New York (16:00Z) + 2 h: 1 h to noon, lunch, 1 h -> 14:00 New York = 19:00Z.
    expect(addBusinessMinutes(at('2026-11-23T16:00:00Z'), 120, split, 'America/New_York').toISOString()).toBe(
      '2026-11-23T19:00:00.000Z',
    );
  });
});
