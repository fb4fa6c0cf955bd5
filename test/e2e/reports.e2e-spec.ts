import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail, sql } from '../setup/mail';

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * Hand-computed fixtures, all timestamps fixed (UTC):
 *
 * | req | created           | first response     | closed            | status      | operator | due fr / res               | rating |
 * |-----|-------------------|--------------------|-------------------|-------------|----------|----------------------------|--------|
 * | R1  | 11-02 10:00       | +1800 s            | 11-02 12:00 +7200 | closed      | Ada      | 11-02 11:00 / 11-03 10:00  | 5      |
 * | R2  | 11-03 09:00       | +7200 s (late)     | 11-04 09:00 +86400| closed      | Ada      | 11-03 10:00 / 11-05 09:00  | 3      |
 * | R3  | 11-05 08:00       | +600 s             | 11-05 09:00 +3600 | closed      | Bob      | 11-05 12:00 / 11-06 08:00  | -      |
 * | R4  | 11-10 12:00       | none (late)        | -                 | new         | -        | 11-10 16:00 / 11-12 12:00  | -      |
 * | R5  | 11-20 12:00       | +3600 s            | -                 | in_progress | Bob      | 11-20 16:00 / 2099         | -      |
 * | R6  | 10-31 23:30 (Berlin: 11-01 00:30) | +3600 s | 11-01 01:30 +7200 | closed | Ada   | none                       | 4      |
 * | R7  | 12-01 00:30       | -                  | -                 | new         | -        | none                       | -      |
 * | R8  | 11-30 23:30 (Berlin: 12-01 00:30) | - | -                 | new         | -        | none                       | -      |
 */
/** Counts by priority of a cohort of `n` normal requests (every seeded request is normal). */
const NORMAL = (n: number) => ({ low: 0, normal: n, high: 0, urgent: 0 });

describe('GET /reports/summary', () => {
  let t: TestApp;
  let operator: string;
  let ada: number;
  let bob: number;

  async function createOperator(name: string): Promise<number> {
    const res = await t
      .http()
      .post('/operators')
      .set(auth(await t.adminToken()))
      .send({ name, email: `${name.toLowerCase()}@desk.test`, password: `${name}-password-1`, role: 'operator' });
    expect(res.status).toBe(201);
    return res.body.id as number;
  }

  async function seed(
    n: number,
    r: {
      created: string;
      fr?: string;
      closed?: string;
      status: string;
      op?: number;
      frDue?: string;
      resDue?: string;
      rating?: number;
    },
  ): Promise<void> {
    const [c] = await sql<{ id: number }>(t, `INSERT INTO customers (email) VALUES ($1) RETURNING id`, [
      `r${n}@example.com`,
    ]);
    await sql(
      t,
      `INSERT INTO requests (customer_id, subject, status, operator_id, created_at, updated_at, first_response_at, closed_at,
                             first_response_due_at, resolution_due_at, satisfaction_rating, satisfaction_rated_at)
       VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10, CASE WHEN $10::smallint IS NULL THEN NULL ELSE $7::timestamptz END)`,
      [
        c.id,
        `R${n}`,
        r.status,
        r.op ?? null,
        r.created,
        r.fr ?? null,
        r.closed ?? null,
        r.frDue ?? null,
        r.resDue ?? null,
        r.rating ?? null,
      ],
    );
  }

  beforeAll(async () => {
    t = await createTestApp();
    ada = await createOperator('Ada');
    bob = await createOperator('Bob');
    operator = await t.login('ada@desk.test', 'Ada-password-1');
    await seed(1, {
      created: '2026-11-02T10:00:00Z',
      fr: '2026-11-02T10:30:00Z',
      closed: '2026-11-02T12:00:00Z',
      status: 'closed',
      op: ada,
      frDue: '2026-11-02T11:00:00Z',
      resDue: '2026-11-03T10:00:00Z',
      rating: 5,
    });
    await seed(2, {
      created: '2026-11-03T09:00:00Z',
      fr: '2026-11-03T11:00:00Z',
      closed: '2026-11-04T09:00:00Z',
      status: 'closed',
      op: ada,
      frDue: '2026-11-03T10:00:00Z',
      resDue: '2026-11-05T09:00:00Z',
      rating: 3,
    });
    await seed(3, {
      created: '2026-11-05T08:00:00Z',
      fr: '2026-11-05T08:10:00Z',
      closed: '2026-11-05T09:00:00Z',
      status: 'closed',
      op: bob,
      frDue: '2026-11-05T12:00:00Z',
      resDue: '2026-11-06T08:00:00Z',
    });
    await seed(4, {
      created: '2026-11-10T12:00:00Z',
      status: 'new',
      frDue: '2026-11-10T16:00:00Z',
      resDue: '2026-11-12T12:00:00Z',
    });
    await seed(5, {
      created: '2026-11-20T12:00:00Z',
      fr: '2026-11-20T13:00:00Z',
      status: 'in_progress',
      op: bob,
      frDue: '2026-11-20T16:00:00Z',
      resDue: '2099-01-01T00:00:00Z',
    });
    await seed(6, {
      created: '2026-10-31T23:30:00Z',
      fr: '2026-11-01T00:30:00Z',
      closed: '2026-11-01T01:30:00Z',
      status: 'closed',
      op: ada,
      rating: 4,
    });
    await seed(7, { created: '2026-12-01T00:30:00Z', status: 'new' });
    await seed(8, { created: '2026-11-30T23:30:00Z', status: 'new' });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('summarises a UTC month exactly as computed by hand, for an operator', async () => {
    const res = await t.http().get('/reports/summary?from=2026-11-01&to=2026-11-30&tz=UTC').set(auth(operator));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      period: { from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', timeZone: 'UTC' },
      requests: { created: 6, closed: 4, byStatus: { new: 2, in_progress: 1, closed: 3 }, byPriority: NORMAL(6) },
      // R1 1800, R2 7200, R3 600, R5 3600
      firstResponse: { count: 4, medianSeconds: 2700, averageSeconds: 3300 },
      // R1 7200, R2 86400, R3 3600, R6 7200
      resolution: { count: 4, medianSeconds: 7200, averageSeconds: 26100 },
      // R2 answered late, R4 never answered
      overdue: { count: 2, share: 0.3333 },
      satisfaction: { count: 3, average: 4 },
      operators: [
        { operatorId: ada, name: 'Ada', assigned: 2, closed: 3, medianResolutionSeconds: 7200 },
        { operatorId: bob, name: 'Bob', assigned: 2, closed: 1, medianResolutionSeconds: 3600 },
      ],
    });
  });

  it('moves the boundaries with the time zone (Berlin: R6 in, R8 out)', async () => {
    const res = await t
      .http()
      .get('/reports/summary?from=2026-11-01&to=2026-11-30&tz=Europe/Berlin')
      .set(auth(operator));
    expect(res.status).toBe(200);
    expect(res.body.period).toEqual({
      from: '2026-10-31T23:00:00.000Z',
      to: '2026-11-30T23:00:00.000Z',
      timeZone: 'Europe/Berlin',
    });
    expect(res.body.requests).toEqual({
      created: 6,
      closed: 4,
      byStatus: { new: 1, in_progress: 1, closed: 4 },
      byPriority: NORMAL(6),
    });
    // 600, 1800, 3600, 3600, 7200
    expect(res.body.firstResponse).toEqual({ count: 5, medianSeconds: 3600, averageSeconds: 3360 });
    expect(res.body.overdue).toEqual({ count: 2, share: 0.3333 });
    expect(res.body.operators[0]).toEqual({
      operatorId: ada,
      name: 'Ada',
      assigned: 3,
      closed: 3,
      medianResolutionSeconds: 7200,
    });
  });

  it('takes BUSINESS_TIMEZONE-less default UTC and a date-time range as given', async () => {
    const res = await t
      .http()
      .get('/reports/summary')
      .query({ from: '2026-11-02T00:00:00Z', to: '2026-11-04T00:00:00Z' })
      .set(auth(operator));
    expect(res.status).toBe(200);
    expect(res.body.period.timeZone).toBe('UTC');
    expect(res.body.requests).toEqual({
      created: 2,
      closed: 1,
      byStatus: { new: 0, in_progress: 0, closed: 2 },
      byPriority: NORMAL(2),
    });
    expect(res.body.operators).toEqual([
      { operatorId: ada, name: 'Ada', assigned: 2, closed: 1, medianResolutionSeconds: 7200 },
    ]);
  });

  it('answers nulls and zeros for an empty period', async () => {
    const res = await t.http().get('/reports/summary?from=2020-01-01&to=2020-01-31').set(auth(operator));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      requests: { created: 0, closed: 0, byStatus: { new: 0, in_progress: 0, closed: 0 }, byPriority: NORMAL(0) },
      firstResponse: { count: 0, medianSeconds: null, averageSeconds: null },
      resolution: { count: 0, medianSeconds: null, averageSeconds: null },
      overdue: { count: 0, share: 0 },
      satisfaction: { count: 0, average: null },
      operators: [],
    });
  });

  it('answers the same data as CSV with Accept: text/csv', async () => {
    const res = await t
      .http()
      .get('/reports/summary?from=2026-11-01&to=2026-11-30&tz=UTC')
      .set(auth(operator))
      .set('Accept', 'text/csv');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="maildesk-summary-2026-11-01\.csv"/);
    const lines = res.text.trim().split('\r\n');
    expect(lines[0]).toBe('metric,operator_id,operator_name,value');
    expect(lines).toEqual(
      expect.arrayContaining([
        'period_from,,,2026-11-01T00:00:00.000Z',
        'created,,,6',
        'closed,,,4',
        'created_priority_normal,,,6',
        'created_priority_urgent,,,0',
        'first_response_median_seconds,,,2700',
        'resolution_average_seconds,,,26100',
        'overdue_share,,,0.3333',
        'satisfaction_average,,,4',
        `operator_assigned,${ada},Ada,2`,
        `operator_closed,${bob},Bob,1`,
        `operator_median_resolution_seconds,${ada},Ada,7200`,
      ]),
    );
  });

  it('reports today in the given zone, counting a request created now', async () => {
    await postRaw(t, rawMail({ from: 'today@example.com', subject: 'Today', messageId: 'today-1@example.com' }));
    const res = await t.http().get('/reports/summary?period=today&tz=UTC').set(auth(operator));
    expect(res.status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    expect(res.body.period.from).toBe(`${today}T00:00:00.000Z`);
    expect(Date.parse(res.body.period.to) - Date.parse(res.body.period.from)).toBe(86_400_000);
    expect(res.body.requests.created).toBeGreaterThanOrEqual(1);
    for (const period of ['week', 'month']) {
      expect((await t.http().get(`/reports/summary?period=${period}`).set(auth(operator))).status).toBe(200);
    }
  });

  it('answers 400 for a bad period, zone or range', async () => {
    for (const q of [
      'period=year',
      'tz=Mars/Base',
      'period=week&from=2026-11-01',
      'from=2026-11-05&to=2026-11-01',
      'from=2026-11-01T10:00:00',
      'to=2026-11-01',
      'from=yesterday',
    ]) {
      const res = await t.http().get(`/reports/summary?${q}`).set(auth(operator));
      expect({ q, status: res.status }).toEqual({ q, status: 400 });
    }
  });
});
