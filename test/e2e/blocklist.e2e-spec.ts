import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail, sql } from '../setup/mail';

/** Admins block addresses and domains; their mail is kept as ignored and opens nothing. */
describe('sender blocklist', () => {
  let t: TestApp;
  let admin: string;
  let seq = 0;

  const auth = () => ({ Authorization: `Bearer ${admin}` });
  const block = (pattern: string, reason?: string) => t.http().post('/blocklist').set(auth()).send({ pattern, reason });
  async function mailFrom(from: string) {
    const messageId = `bl-${++seq}@sender.test`;
    const res = await postRaw(t, rawMail({ from, subject: `Offer ${seq}`, messageId }));
    expect(res.status).toBe(200);
    return res.body.results[0] as {
      status: string;
      requestId: number | null;
      reason: string | null;
      messageId: string;
    };
  }

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_RATE_LIMIT: '1000' });
    admin = await t.adminToken();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('manages patterns: 201 lower-cased, 409 for a duplicate, 400 for a non-pattern, listed, 204 on delete, 404 after', async () => {
    const created = await block('@Spam.Example', 'advertising');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      pattern: '@spam.example',
      kind: 'domain',
      reason: 'advertising',
      createdBy: 1,
    });
    expect((await block('@spam.example')).status).toBe(409);
    for (const bad of ['spam', '@', '*.', 'a b@example.com', '@exa mple.com', '**.example.com']) {
      expect({ bad, status: (await block(bad)).status }).toEqual({ bad, status: 400 });
    }
    const extra = await block('someone@gone.test');
    expect(extra.body.kind).toBe('address');
    const list = await t.http().get('/blocklist').set(auth());
    expect(list.body.items.map((b: { pattern: string }) => b.pattern)).toEqual(['@spam.example', 'someone@gone.test']);
    expect((await t.http().delete(`/blocklist/${extra.body.id}`).set(auth())).status).toBe(204);
    expect((await t.http().delete(`/blocklist/${extra.body.id}`).set(auth())).status).toBe(404);
  });

  it('stores mail from a blocked domain as ignored with the reason, opens no request and sends no auto-reply', async () => {
    const result = await mailFrom('Spammer <deals@spam.example>');
    expect(result).toMatchObject({ status: 'ignored', requestId: null, reason: 'sender is blocked: @spam.example' });
    const [row] = await sql(t, 'SELECT status, reason, request_id FROM inbound_mail WHERE message_id = $1', [
      result.messageId,
    ]);
    expect(row).toEqual({ status: 'ignored', reason: 'sender is blocked: @spam.example', request_id: null });
    expect(await sql(t, `SELECT 1 FROM customers WHERE email = 'deals@spam.example'`)).toEqual([]);
    expect(await sql(t, `SELECT 1 FROM outbox WHERE to_address = 'deals@spam.example'`)).toEqual([]);
    // "@domain" is that domain only.
    expect((await mailFrom('x@mail.spam.example')).status).toBe('created');
  });

  it('blocks a domain and its subdomains with *.domain, and one address exactly', async () => {
    expect((await block('*.bulk.example')).status).toBe(201);
    expect((await block('pest@fine.example')).status).toBe(201);
    expect(await mailFrom('a@bulk.example')).toMatchObject({
      status: 'ignored',
      reason: 'sender is blocked: *.bulk.example',
    });
    expect(await mailFrom('b@mx.eu.bulk.example')).toMatchObject({
      status: 'ignored',
      reason: 'sender is blocked: *.bulk.example',
    });
    expect((await mailFrom('c@notbulk.example')).status).toBe('created');
    expect(await mailFrom('PEST@fine.example')).toMatchObject({
      status: 'ignored',
      reason: 'sender is blocked: pest@fine.example',
    });
    expect((await mailFrom('friend@fine.example')).status).toBe('created');
  });

  it('ignores a blocked sender even on an open request, and takes their mail again once unblocked', async () => {
    const first = await mailFrom('late@later.example');
    expect(first.status).toBe('created');
    const entry = await block('@later.example');
    expect((await mailFrom('late@later.example')).status).toBe('ignored');
    await t.http().delete(`/blocklist/${entry.body.id}`).set(auth());
    expect(await mailFrom('late@later.example')).toMatchObject({ status: 'appended', requestId: first.requestId });
  });

  it('keeps the customer blocked flag working beside the blocklist', async () => {
    await sql(t, `INSERT INTO customers (email, blocked) VALUES ('flagged@old.example', true)`);
    expect(await mailFrom('flagged@old.example')).toMatchObject({ status: 'ignored', reason: 'sender is blocked' });
  });

  it('is for admins only', async () => {
    await t
      .http()
      .post('/operators')
      .set(auth())
      .send({ name: 'Op', email: 'op@desk.test', password: 'op-password-1', role: 'operator' });
    const op = await t.login('op@desk.test', 'op-password-1');
    expect(
      (
        await t
          .http()
          .get('/blocklist')
          .set({ Authorization: `Bearer ${op}` })
      ).status,
    ).toBe(403);
    expect(
      (
        await t
          .http()
          .post('/blocklist')
          .set({ Authorization: `Bearer ${op}` })
          .send({ pattern: '@x.example' })
      ).status,
    ).toBe(403);
  });
});
