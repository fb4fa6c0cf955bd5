import request from 'supertest';
import { createApp } from '../../src/app';
import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Collision detection: operators announce viewing or replying on a request (shown on it until the
 * announcement expires), and a message written over news the operator has not seen is refused
 * with a 409 listing them, nothing sent. Presence lives in PostgreSQL: two instances share it.
 */
forEachDatabase('collision detection: presence and lastSeenMessageId', (kind) => {
  let t: TestApp;
  let sink: SmtpSink;
  let ann: { id: number; token: string };
  let ben: { id: number; token: string };
  let requestId: number;
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  /** The operators' mails the sink got (auto-replies have no "Re:"). */
  const operatorMails = () => sink.mails.filter((m) => /^Re: \[#\d+\]/.test(m.parsed.subject ?? ''));

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ SMTP_URL: sink.url, PRESENCE_TTL_SECONDS: '2', OUTBOX_RETRY_BASE_MS: '100' }, kind);
    ann = await t.createOperator({ name: 'Ann', email: 'ann@desk.test', password: 'ann-password-1' });
    ben = await t.createOperator({ name: 'Ben', email: 'ben@desk.test', password: 'ben-password-1' });
    const res = await postRaw(
      t,
      rawMail({ from: 'Jane <jane@customer.test>', subject: 'Printer', messageId: 'c1@customer.test' }),
    );
    requestId = res.body.results[0].requestId as number;
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('shows who views and replies on the request until it expires, renewed by PUT, gone on DELETE', async () => {
    const put = await t
      .http()
      .put(`/requests/${requestId}/presence`)
      .set(auth(ann.token))
      .send({ state: 'viewing' })
      .expect(200);
    expect(put.body).toEqual([
      {
        operatorId: ann.id,
        operatorName: 'Ann',
        state: 'viewing',
        since: expect.stringMatching(/Z$/),
        expiresAt: expect.stringMatching(/Z$/),
      },
    ]);
    expect(Date.parse(put.body[0].expiresAt) - Date.parse(put.body[0].since)).toBeGreaterThanOrEqual(1900);

    // Ben opens the request: Ann is there.
    const got = await t.http().get(`/requests/${requestId}`).set(auth(ben.token)).expect(200);
    expect(got.body.presence).toEqual([expect.objectContaining({ operatorId: ann.id, state: 'viewing' })]);

    await t.http().put(`/requests/${requestId}/presence`).set(auth(ben.token)).send({ state: 'viewing' }).expect(200);
    await t.http().put(`/requests/${requestId}/presence`).set(auth(ann.token)).send({ state: 'replying' }).expect(200);
    const list = await t.http().get(`/requests/${requestId}/presence`).set(auth(ben.token)).expect(200);
    expect(list.body.map((p: { operatorName: string; state: string }) => [p.operatorName, p.state]).sort()).toEqual([
      ['Ann', 'replying'],
      ['Ben', 'viewing'],
    ]);

    // Ben leaves; Ann's announcement runs out unless renewed.
    await t.http().delete(`/requests/${requestId}/presence`).set(auth(ben.token)).expect(204);
    await waitFor(
      async () => {
        const res = await t.http().get(`/requests/${requestId}/presence`).set(auth(ben.token)).expect(200);
        return res.body.length === 0;
      },
      20_000,
      250,
    );
    expect((await t.http().get(`/requests/${requestId}`).set(auth(ben.token)).expect(200)).body.presence).toEqual([]);
    // The expired row is ignored on read and cleaned up by a later write.
    await t.http().put(`/requests/${requestId}/presence`).set(auth(ben.token)).send({ state: 'viewing' }).expect(200);
    const rows = await sql<{ operator_id: number }>(t, 'SELECT operator_id FROM request_presence');
    expect(rows).toEqual([{ operator_id: ben.id }]);
  }, 60_000);

  it("refuses a bad state, an unknown request and (groups) another group's request", async () => {
    await t.http().put(`/requests/${requestId}/presence`).set(auth(ann.token)).send({ state: 'typing' }).expect(400);
    await t.http().put(`/requests/${requestId}/presence`).set(auth(ann.token)).send({}).expect(400);
    await t.http().put('/requests/999999/presence').set(auth(ann.token)).send({ state: 'viewing' }).expect(404);
    await t.http().get('/requests/999999/presence').set(auth(ann.token)).expect(404);
    await t.http().delete('/requests/999999/presence').set(auth(ann.token)).expect(404);

    const admin = await t.adminToken();
    const a = await t.http().post('/groups').set(auth(admin)).send({ name: 'First line' }).expect(201);
    const b = await t.http().post('/groups').set(auth(admin)).send({ name: 'Second line' }).expect(201);
    const cid = await t.createOperator({ name: 'Cid', email: 'cid@desk.test', password: 'cid-password-1' });
    await sql(t, 'INSERT INTO operator_groups (operator_id, group_id) VALUES ($1, $2)', [cid.id, a.body.id]);
    await sql(t, 'UPDATE requests SET group_id = $2 WHERE id = $1', [requestId, b.body.id]);
    try {
      const token = await t.login('cid@desk.test', 'cid-password-1');
      await t.http().put(`/requests/${requestId}/presence`).set(auth(token)).send({ state: 'viewing' }).expect(404);
      await t.http().get(`/requests/${requestId}/presence`).set(auth(token)).expect(404);
      await t.http().delete(`/requests/${requestId}/presence`).set(auth(token)).expect(404);
    } finally {
      await sql(t, 'UPDATE requests SET group_id = NULL WHERE id = $1', [requestId]);
    }
  }, 60_000);

  it('sends when nothing arrived since the message seen; refuses with 409 (nothing sent) once the customer wrote', async () => {
    const page = await t.http().get(`/requests/${requestId}/messages`).set(auth(ann.token)).expect(200);
    const latest = page.body.items[page.body.items.length - 1].id as number;
    const seenByBen = latest;

    const sent = await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth(ann.token))
      .send({ text: 'We are on it.', lastSeenMessageId: latest })
      .expect(201);
    await waitFor(() => Promise.resolve(operatorMails().length === 1), 20_000);

    // The customer answers; Ben, who saw only the first mail, writes.
    const reply = await postRaw(
      t,
      rawMail({
        from: 'Jane <jane@customer.test>',
        subject: `Re: [#${requestId}] Printer`,
        messageId: 'c2@customer.test',
        headers: { 'In-Reply-To': `<${sent.body.messageId}>` },
        text: 'It works now, thanks!',
      }),
    );
    expect(reply.body.results[0]).toMatchObject({ status: 'appended', requestId });
    const before = (await sql(t, 'SELECT id FROM messages WHERE request_id = $1', [requestId])).length;

    const stale = await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth(ben.token))
      .send({ text: 'Did you try turning it off and on?', lastSeenMessageId: seenByBen })
      .expect(409);
    expect(stale.body).toMatchObject({
      statusCode: 409,
      error: 'Conflict',
      message: expect.stringMatching(/2 messages were written/),
      newMessageCount: 2,
      newMessages: [
        expect.objectContaining({ kind: 'operator', operatorId: ann.id, fromName: 'Ann' }),
        expect.objectContaining({ kind: 'customer', from: 'jane@customer.test', fromName: 'Jane', operatorId: null }),
      ],
    });
    expect((await sql(t, 'SELECT id FROM messages WHERE request_id = $1', [requestId])).length).toBe(before);

    // Multipart says the same.
    await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth(ben.token))
      .field('text', 'Still stale')
      .field('lastSeenMessageId', String(seenByBen))
      .expect(409);
    // Not a message of this request; not a number.
    await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth(ben.token))
      .send({ text: 'x', lastSeenMessageId: 2_000_000_000 })
      .expect(400);
    await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth(ben.token))
      .send({ text: 'x', lastSeenMessageId: 'latest' })
      .expect(400);

    // Having read the news, Ben writes; without lastSeenMessageId nothing is checked.
    const news = stale.body.newMessages as Array<{ id: number }>;
    await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth(ben.token))
      .send({ text: 'Glad it works!', lastSeenMessageId: news[news.length - 1].id })
      .expect(201);
    await t.http().post(`/requests/${requestId}/messages`).set(auth(ann.token)).send({ text: 'Bye' }).expect(201);
    await waitFor(() => Promise.resolve(operatorMails().length === 3), 20_000);
    await sleep(300);
    expect(operatorMails().map((m) => m.parsed.text?.trim())).toEqual(['We are on it.', 'Glad it works!', 'Bye']);
  }, 60_000);

  it('shares presence between two instances on one database', async () => {
    // The embedded database is one process's: only PostgreSQL has several instances.
    if (t.db.embedded) return;
    const other = await createApp(t.config, t.db.url, ['error']);
    try {
      await other.init();
      await other.getHttpAdapter().getInstance().ready();
      await request(other.getHttpServer())
        .put(`/requests/${requestId}/presence`)
        .set(auth(ann.token))
        .send({ state: 'replying' })
        .expect(200);
      const seen = await t.http().get(`/requests/${requestId}`).set(auth(ben.token)).expect(200);
      expect(seen.body.presence).toEqual(
        expect.arrayContaining([expect.objectContaining({ operatorId: ann.id, state: 'replying' })]),
      );
      await t.http().delete(`/requests/${requestId}/presence`).set(auth(ann.token)).expect(204);
      const gone = await request(other.getHttpServer())
        .get(`/requests/${requestId}/presence`)
        .set(auth(ben.token))
        .expect(200);
      expect(gone.body.map((p: { operatorId: number }) => p.operatorId)).not.toContain(ann.id);
    } finally {
      await other.close();
    }
  }, 60_000);
});
