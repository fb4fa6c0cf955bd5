import { RequestsService } from '../../src/requests/requests.service';
import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('SLA: due dates, overdue list, breach events, admin override', () => {
  let t: TestApp;
  let admin: string;
  let operator: string;
  let n = 0;

  /** A request opened by a real inbound mail (so openRequestFor sets its due dates). */
  async function newRequest(): Promise<number> {
    n += 1;
    const res = await postRaw(
      t,
      rawMail({ from: `sla${n}@example.com`, subject: `SLA ${n}`, messageId: `sla-${n}@example.com` }),
    );
    expect(res.body.results[0].status).toBe('created');
    return res.body.results[0].requestId as number;
  }

  beforeAll(async () => {
    // Always open (the default schedule): due dates are plain additions. The breach check runs every second.
    t = await createTestApp({
      SLA_FIRST_RESPONSE_MINUTES: '60',
      SLA_RESOLUTION_MINUTES: '1440',
      SLA_CHECK_SECONDS: '1',
    });
    admin = await t.adminToken();
    ({ token: operator } = await t.createOperator({
      name: 'Olga',
      email: 'olga@desk.test',
      password: 'olga-password-1',
    }));
  });

  afterAll(async () => {
    await t?.close();
  });

  it('sets the first-response and resolution due dates at creation from the configured targets', async () => {
    const id = await newRequest();
    const res = await t.http().get(`/requests/${id}`).set(auth(operator));
    expect(res.status).toBe(200);
    const created = Date.parse(res.body.createdAt);
    expect(Date.parse(res.body.firstResponseDueAt) - created).toBe(60 * 60_000);
    expect(Date.parse(res.body.resolutionDueAt) - created).toBe(1440 * 60_000);
    expect(res.body).toMatchObject({ firstResponseAt: null, overdue: false, satisfaction: null });
  });

  it('lists requests past a target with overdue=true, and the others with overdue=false', async () => {
    const late = await newRequest();
    const answeredLate = await newRequest();
    const fine = await newRequest();
    const closedLate = await newRequest();
    await sql(t, `UPDATE requests SET first_response_due_at = now() - interval '1 minute' WHERE id = $1`, [late]);
    // Answered, but the resolution is overdue.
    await sql(
      t,
      `UPDATE requests SET first_response_at = now() - interval '2 hours', first_response_due_at = now() - interval '1 hour',
              resolution_due_at = now() - interval '1 minute' WHERE id = $1`,
      [answeredLate],
    );
    await sql(
      t,
      `UPDATE requests SET status = 'closed', closed_at = now(), resolution_due_at = now() - interval '1 day' WHERE id = $1`,
      [closedLate],
    );
    const overdue = await t.http().get('/requests?overdue=true&limit=100').set(auth(operator));
    expect(overdue.status).toBe(200);
    const ids = overdue.body.items.map((r: { id: number }) => r.id);
    expect(ids).toEqual(expect.arrayContaining([late, answeredLate]));
    expect(ids).not.toContain(fine);
    expect(ids).not.toContain(closedLate);
    expect(overdue.body.items.every((r: { overdue: boolean }) => r.overdue)).toBe(true);
    const others = await t.http().get('/requests?overdue=false&limit=100').set(auth(operator));
    const otherIds = others.body.items.map((r: { id: number }) => r.id);
    expect(otherIds).toEqual(expect.arrayContaining([fine, closedLate]));
    expect(otherIds).not.toContain(late);
    expect((await t.http().get('/requests?overdue=maybe').set(auth(operator))).status).toBe(400);
  });

  it('writes one sla_breached event per missed target, however often the check runs', async () => {
    const id = await newRequest();
    await sql(
      t,
      `UPDATE requests SET first_response_due_at = now() - interval '5 minutes', resolution_due_at = now() - interval '1 minute' WHERE id = $1`,
      [id],
    );
    const events = async () =>
      (await t.http().get(`/requests/${id}/events`).set(auth(operator))).body.items.filter(
        (e: { type: string }) => e.type === 'sla_breached',
      );
    await waitFor(async () => (await events()).length === 2, 10_000);
    // Several more checks (every second), one of them concurrent with ours: still exactly two.
    const service = t.app.get(RequestsService);
    await Promise.all([service.recordBreaches(), service.recordBreaches()]);
    await new Promise((r) => setTimeout(r, 2500));
    const got = await events();
    expect(got.map((e: { data: { kind: string } }) => e.data.kind).sort()).toEqual(['first_response', 'resolution']);
    expect(got.every((e: { actor: string }) => e.actor === 'system')).toBe(true);
  });

  it('does not report a first response as missed once the operator answered in time', async () => {
    const id = await newRequest();
    await t.http().post(`/requests/${id}/assign`).set(auth(operator)).send({});
    expect((await t.http().post(`/requests/${id}/messages`).set(auth(operator)).send({ text: 'On it.' })).status).toBe(
      201,
    );
    await sql(t, `UPDATE requests SET first_response_due_at = now() - interval '1 minute' WHERE id = $1`, [id]);
    await new Promise((r) => setTimeout(r, 2500));
    const [row] = await sql<{ breached: Date | null }>(
      t,
      `SELECT sla_breached_first_response_at AS breached FROM requests WHERE id = $1`,
      [id],
    );
    expect(row.breached).toBeNull();
    expect((await t.http().get(`/requests/${id}`).set(auth(operator))).body.overdue).toBe(false);
  });

  it('lets an admin override the due dates (operators get 403), with an sla_changed event', async () => {
    const id = await newRequest();
    const body = { firstResponseDueAt: '2031-01-02T03:04:05Z', resolutionDueAt: null };
    expect((await t.http().patch(`/requests/${id}/sla`).set(auth(operator)).send(body)).status).toBe(403);
    const res = await t.http().patch(`/requests/${id}/sla`).set(auth(admin)).send(body);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, firstResponseDueAt: '2031-01-02T03:04:05.000Z', resolutionDueAt: null });
    const events = (await t.http().get(`/requests/${id}/events`).set(auth(admin))).body.items;
    expect(events.at(-1)).toMatchObject({
      type: 'sla_changed',
      actor: 'operator',
      data: { firstResponseDueAt: '2031-01-02T03:04:05.000Z', resolutionDueAt: null },
    });
  });

  it('records a moved target as missed again once it passes', async () => {
    const id = await newRequest();
    await sql(t, `UPDATE requests SET first_response_due_at = now() - interval '1 minute' WHERE id = $1`, [id]);
    const breaches = async () =>
      (await t.http().get(`/requests/${id}/events`).set(auth(admin))).body.items.filter(
        (e: { type: string; data: { kind: string } }) => e.type === 'sla_breached' && e.data.kind === 'first_response',
      ).length;
    await waitFor(async () => (await breaches()) === 1);
    const soon = new Date(Date.now() + 1500).toISOString();
    expect(
      (await t.http().patch(`/requests/${id}/sla`).set(auth(admin)).send({ firstResponseDueAt: soon })).status,
    ).toBe(200);
    await waitFor(async () => (await breaches()) === 2, 10_000);
  });

  it('answers 400 for an empty or invalid body and 404 for an unknown request', async () => {
    const id = await newRequest();
    expect((await t.http().patch(`/requests/${id}/sla`).set(auth(admin)).send({})).status).toBe(400);
    expect(
      (await t.http().patch(`/requests/${id}/sla`).set(auth(admin)).send({ resolutionDueAt: 'tomorrow' })).status,
    ).toBe(400);
    expect((await t.http().patch(`/requests/${id}/sla`).set(auth(admin)).send({ other: 1 })).status).toBe(400);
    expect((await t.http().patch('/requests/999999/sla').set(auth(admin)).send({ resolutionDueAt: null })).status).toBe(
      404,
    );
  });
});

describe('SLA in business hours', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      SLA_FIRST_RESPONSE_MINUTES: '240',
      SLA_RESOLUTION_MINUTES: '2880',
      BUSINESS_HOURS: 'Mon-Fri 09:00-17:00',
      BUSINESS_TIMEZONE: 'Europe/Berlin',
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('counts the targets in business time from the creation time', async () => {
    const service = t.app.get(RequestsService);
    // Friday 2026-11-27 16:00 Berlin: 1 h left that day.
    const due = service.dueDates(new Date('2026-11-27T15:00:00Z'));
    expect(due.firstResponseDueAt?.toISOString()).toBe('2026-11-30T11:00:00.000Z'); // Monday 12:00 Berlin
    expect(due.resolutionDueAt?.toISOString()).toBe('2026-12-07T15:00:00.000Z'); // 48 business hours: Monday a week later, 16:00 Berlin
    const res = await postRaw(
      t,
      rawMail({ from: 'bh@example.com', subject: 'Business hours', messageId: 'bh-1@example.com' }),
    );
    const [row] = await sql<{ created_at: Date; first_response_due_at: Date }>(
      t,
      'SELECT created_at, first_response_due_at FROM requests WHERE id = $1',
      [res.body.results[0].requestId],
    );
    expect(row.first_response_due_at.toISOString()).toBe(
      service.dueDates(row.created_at).firstResponseDueAt!.toISOString(),
    );
  });
});
