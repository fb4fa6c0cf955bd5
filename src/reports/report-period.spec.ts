import { reportRange, ReportPeriodError } from './report-period';

const NOW = new Date('2026-11-25T23:30:00Z'); // Thursday 00:30 in Berlin, still Wednesday in UTC
const iso = (r: { from: Date; to: Date }) => [r.from.toISOString(), r.to.toISOString()];

describe('reportRange', () => {
  it('takes today in the given zone', () => {
    expect(iso(reportRange({ period: 'today' }, 'UTC', NOW))).toEqual([
      '2026-11-25T00:00:00.000Z',
      '2026-11-26T00:00:00.000Z',
    ]);
    expect(iso(reportRange({ period: 'today' }, 'Europe/Berlin', NOW))).toEqual([
      '2026-11-25T23:00:00.000Z',
      '2026-11-26T23:00:00.000Z',
    ]);
    expect(iso(reportRange({}, 'Europe/Berlin', NOW))).toEqual([
      '2026-11-25T23:00:00.000Z',
      '2026-11-26T23:00:00.000Z',
    ]);
  });

  it('takes the ISO week from Monday and the calendar month', () => {
    expect(iso(reportRange({ period: 'week' }, 'Europe/Berlin', NOW))).toEqual([
      '2026-11-22T23:00:00.000Z',
      '2026-11-29T23:00:00.000Z',
    ]);
    expect(iso(reportRange({ period: 'month' }, 'Europe/Berlin', NOW))).toEqual([
      '2026-10-31T23:00:00.000Z',
      '2026-11-30T23:00:00.000Z',
    ]);
    expect(iso(reportRange({ period: 'month' }, 'UTC', new Date('2026-12-15T12:00:00Z')))).toEqual([
      '2026-12-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ]);
  });

  it('spans a daylight-saving change with the right offsets', () => {
    const r = reportRange({ period: 'month' }, 'Europe/Berlin', new Date('2026-10-15T12:00:00Z'));
    expect(iso(r)).toEqual(['2026-09-30T22:00:00.000Z', '2026-10-31T23:00:00.000Z']);
  });

  it('reads from/to dates as whole local days and date-times as given', () => {
    expect(iso(reportRange({ from: '2026-11-01', to: '2026-11-30' }, 'Europe/Berlin', NOW))).toEqual([
      '2026-10-31T23:00:00.000Z',
      '2026-11-30T23:00:00.000Z',
    ]);
    expect(iso(reportRange({ from: '2026-11-01T10:00:00Z', to: '2026-11-02T10:00:00+01:00' }, 'UTC', NOW))).toEqual([
      '2026-11-01T10:00:00.000Z',
      '2026-11-02T09:00:00.000Z',
    ]);
    expect(iso(reportRange({ from: '2026-11-20' }, 'UTC', NOW))).toEqual([
      '2026-11-20T00:00:00.000Z',
      NOW.toISOString(),
    ]);
  });

  it('refuses mixed, reversed, zoneless or impossible ranges and unknown zones', () => {
    expect(() => reportRange({ period: 'week', from: '2026-11-01' }, 'UTC', NOW)).toThrow(ReportPeriodError);
    expect(() => reportRange({ to: '2026-11-01' }, 'UTC', NOW)).toThrow(/to needs from/);
    expect(() => reportRange({ from: '2026-11-05', to: '2026-11-01' }, 'UTC', NOW)).toThrow(/after from/);
    expect(() => reportRange({ from: '2026-11-01T10:00:00' }, 'UTC', NOW)).toThrow(/with a zone/);
    expect(() => reportRange({ from: '2026-02-30' }, 'UTC', NOW)).toThrow(/not a valid date/);
    expect(() => reportRange({}, 'Mars/Base', NOW)).toThrow(/IANA/);
  });
});
