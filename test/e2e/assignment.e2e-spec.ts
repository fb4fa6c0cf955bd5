import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail, sql } from '../setup/mail';

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

async function setup(env: Record<string, string>) {
  const t = await createTestApp({ LOGIN_RATE_LIMIT: '1000', ...env });
  const admin = await t.adminToken();
  const operators: Record<string, { id: number; token: string }> = {};
  for (const name of ['ada', 'bob']) {
    operators[name] = await t.createOperator({ name, email: `${name}@desk.test`, password: `${name}-password-1` });
  }
  let n = 0;
  const newRequest = async (): Promise<number> => {
    n += 1;
    const res = await postRaw(
      t,
      rawMail({ from: `as${n}@example.com`, subject: `Assign ${n}`, messageId: `as-${n}@example.com` }),
    );
    return res.body.results[0].requestId as number;
  };
  return { t, admin, ada: operators.ada, bob: operators.bob, newRequest };
}

const autoReplies = async (t: TestApp, id: number) =>
  (
    await sql<{ n: number }>(
      t,
      `SELECT count(*)::int AS n FROM messages WHERE request_id = $1 AND kind = 'auto_reply'`,
      [id],
    )
  )[0].n;

describe('operator capacity, reassign and unassign', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  const assign = (id: number, token: string, body: object = {}) =>
    s.t.http().post(`/requests/${id}/assign`).set(auth(token)).send(body);

  beforeAll(async () => {
    s = await setup({ OPERATOR_MAX_OPEN: '2' });
  });

  afterAll(async () => {
    await s?.t.close();
  });

  it('refuses a take beyond OPERATOR_MAX_OPEN with 409 and the reason, and allows it again after a close', async () => {
    const [a, b, c] = [await s.newRequest(), await s.newRequest(), await s.newRequest()];
    expect((await assign(a, s.ada.token)).status).toBe(200);
    expect((await assign(b, s.ada.token)).status).toBe(200);
    const third = await assign(c, s.ada.token);
    expect(third.status).toBe(409);
    expect(third.body.message).toMatch(/already has 2 requests in progress.*OPERATOR_MAX_OPEN.*2/);
    // An admin cannot push it past the limit either.
    expect((await assign(c, s.admin, { operatorId: s.ada.id })).status).toBe(409);
    expect((await s.t.http().get(`/requests/${c}`).set(auth(s.admin))).body.status).toBe('new');
    expect((await s.t.http().post(`/requests/${a}/close`).set(auth(s.ada.token))).status).toBe(200);
    expect((await assign(c, s.ada.token)).status).toBe(200);
    await s.t.http().post(`/requests/${b}/close`).set(auth(s.ada.token));
    await s.t.http().post(`/requests/${c}/close`).set(auth(s.ada.token));
  });

  it('lets one of two concurrent takes through when one slot is left', async () => {
    const held = await s.newRequest();
    expect((await assign(held, s.bob.token)).status).toBe(200);
    const [x, y] = [await s.newRequest(), await s.newRequest()];
    const statuses = (await Promise.all([assign(x, s.bob.token), assign(y, s.bob.token)])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    const [row] = await sql<{ n: number }>(
      s.t,
      `SELECT count(*)::int AS n FROM requests WHERE operator_id = $1 AND status = 'in_progress'`,
      [s.bob.id],
    );
    expect(row.n).toBe(2);
    await sql(s.t, `UPDATE requests SET status = 'closed', closed_at = now() WHERE operator_id = $1`, [s.bob.id]);
  });

  it('keeps the contract: a second take is 409 for an operator, and for an admin without operatorId', async () => {
    const id = await s.newRequest();
    expect((await assign(id, s.ada.token)).status).toBe(200);
    expect((await assign(id, s.bob.token)).status).toBe(409);
    expect((await assign(id, s.ada.token)).status).toBe(409);
    expect((await assign(id, s.admin)).status).toBe(409);
    expect((await assign(id, s.bob.token, { operatorId: s.ada.id })).status).toBe(403);
    await s.t.http().post(`/requests/${id}/close`).set(auth(s.ada.token));
  });

  it('reassigns a request in progress when an admin names an operator, without mailing the customer', async () => {
    const id = await s.newRequest();
    expect((await assign(id, s.ada.token)).status).toBe(200);
    const before = await autoReplies(s.t, id);
    const res = await assign(id, s.admin, { operatorId: s.bob.id });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'in_progress', operator: { id: s.bob.id, name: 'bob' } });
    expect(await autoReplies(s.t, id)).toBe(before);
    const events = (await s.t.http().get(`/requests/${id}/events`).set(auth(s.admin))).body.items;
    expect(events.at(-1)).toMatchObject({
      type: 'reassigned',
      data: { fromOperatorId: s.ada.id, operatorId: s.bob.id, operatorName: 'bob' },
    });
    // To the same operator again: 409.
    expect((await assign(id, s.admin, { operatorId: s.bob.id })).status).toBe(409);
    await s.t.http().post(`/requests/${id}/close`).set(auth(s.bob.token));
  });

  it('refuses a reassignment to an operator at capacity', async () => {
    const [a, b, c] = [await s.newRequest(), await s.newRequest(), await s.newRequest()];
    await assign(a, s.bob.token);
    await assign(b, s.bob.token);
    await assign(c, s.ada.token);
    const res = await assign(c, s.admin, { operatorId: s.bob.id });
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/OPERATOR_MAX_OPEN/);
    expect((await s.t.http().get(`/requests/${c}`).set(auth(s.admin))).body.operator.id).toBe(s.ada.id);
    await sql(s.t, `UPDATE requests SET status = 'closed', closed_at = now() WHERE id = ANY ($1)`, [[a, b, c]]);
  });

  it('unassigns a request in progress back to the queue (admins only), and 409 otherwise', async () => {
    const id = await s.newRequest();
    expect((await assign(id, s.ada.token)).status).toBe(200);
    expect((await s.t.http().post(`/requests/${id}/unassign`).set(auth(s.ada.token))).status).toBe(403);
    const res = await s.t.http().post(`/requests/${id}/unassign`).set(auth(s.admin));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, status: 'new', operator: null });
    const events = (await s.t.http().get(`/requests/${id}/events`).set(auth(s.admin))).body.items;
    expect(events.at(-1)).toMatchObject({ type: 'unassigned', actor: 'operator', data: { fromOperatorId: s.ada.id } });
    expect((await s.t.http().post(`/requests/${id}/unassign`).set(auth(s.admin))).status).toBe(409);
    expect((await s.t.http().post('/requests/999999/unassign').set(auth(s.admin))).status).toBe(404);
    // Back in the queue: anyone can take it again.
    expect((await assign(id, s.bob.token)).status).toBe(200);
  });
});

describe('reassignment with REASSIGN_NOTIFY=true', () => {
  let s: Awaited<ReturnType<typeof setup>>;

  beforeAll(async () => {
    s = await setup({ REASSIGN_NOTIFY: 'true' });
  });

  afterAll(async () => {
    await s?.t.close();
  });

  it('mails the customer the assignment notice naming the new operator', async () => {
    const id = await s.newRequest();
    expect((await s.t.http().post(`/requests/${id}/assign`).set(auth(s.ada.token)).send({})).status).toBe(200);
    const before = await autoReplies(s.t, id);
    expect(
      (await s.t.http().post(`/requests/${id}/assign`).set(auth(s.admin)).send({ operatorId: s.bob.id })).status,
    ).toBe(200);
    expect(await autoReplies(s.t, id)).toBe(before + 1);
    const [last] = await sql<{ text: string }>(
      s.t,
      `SELECT text FROM messages WHERE request_id = $1 AND kind = 'auto_reply' ORDER BY seq DESC LIMIT 1`,
      [id],
    );
    expect(last.text).toContain('bob');
  });
});
