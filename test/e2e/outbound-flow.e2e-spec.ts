import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

/** The customer's side of a request over real SMTP: every auto-reply and operator message, threaded. */
forEachDatabase('mail to the customer through the API', (kind) => {
  let t: TestApp;
  let sink: SmtpSink;
  let auth: { Authorization: string };
  const alice = 'alice@customer.test';
  const header = (m: SmtpSink['mails'][number], name: string) => {
    const v = m.parsed.headers.get(name);
    return typeof v === 'string' ? v : '';
  };

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ SMTP_URL: sink.url, AUTO_REPLY_LIMIT_PER_HOUR: '3', OUTBOX_RETRY_BASE_MS: '100' }, kind);
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  const mailsTo = (to: string) => sink.mails.filter((m) => m.envelope.to.includes(to));

  it('answers creation, assignment, an operator message and closing, each threaded under the customer mail', async () => {
    const res = await postRaw(
      t,
      rawMail({ from: `Alice <${alice}>`, subject: 'Broken printer', messageId: 'p1@customer.test' }),
    );
    const requestId = res.body.results[0].requestId as number;
    await waitFor(async () => mailsTo(alice).length === 1);
    const [created] = mailsTo(alice);
    expect(created.parsed.from?.value[0].address).toBe('support@desk.test');
    expect(created.parsed.subject).toContain(`[#${requestId}]`);
    expect(created.parsed.inReplyTo).toBe('<p1@customer.test>');
    expect(created.parsed.references).toContain('<p1@customer.test>');
    expect(header(created, 'auto-submitted')).toBe('auto-replied');
    expect(header(created, 'x-auto-response-suppress')).toBe('All');
    expect(created.parsed.messageId).toMatch(/^<md-.+@desk\.test>$/);

    await t.http().post(`/requests/${requestId}/assign`).set(auth).send({}).expect(200);
    await waitFor(async () => mailsTo(alice).length === 2);
    expect(mailsTo(alice)[1].parsed.text).toMatch(/Admin|assigned|taken|working/i);

    const posted = await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth)
      .send({ text: 'A technician is on the way.' })
      .expect(201);
    await waitFor(async () => mailsTo(alice).length === 3);
    const reply = mailsTo(alice)[2];
    expect(reply.parsed.text).toContain('A technician is on the way.');
    expect(reply.parsed.inReplyTo).toBe('<p1@customer.test>');
    expect(header(reply, 'auto-submitted')).toBe('');
    expect(reply.parsed.messageId).toBe(`<${posted.body.messageId}>`);
    const delivered = await waitFor(async () => {
      const list = await t.http().get(`/requests/${requestId}/messages`).set(auth);
      const m = list.body.items.find((x: { messageId: string }) => x.messageId === posted.body.messageId);
      return m?.delivery?.status === 'sent' && m;
    });
    expect(delivered.delivery).toMatchObject({
      status: 'sent',
      attempts: 1,
      lastError: null,
      sentAt: expect.any(String),
    });

    await t.http().post(`/requests/${requestId}/close`).set(auth).expect(200);
    await waitFor(async () => mailsTo(alice).length === 4);
    const list = await t.http().get(`/requests/${requestId}/messages`).set(auth);
    expect(list.body.items.map((m: { kind: string }) => m.kind)).toEqual([
      'customer',
      'auto_reply',
      'auto_reply',
      'operator',
      'auto_reply',
    ]);
    expect(new Set(mailsTo(alice).map((m) => m.parsed.messageId)).size).toBe(4);
  });

  it('stops auto-replying to an address past its hourly limit, and says why in the history', async () => {
    // alice got 3 auto-replies above: the limit in this test.
    const res = await postRaw(t, rawMail({ from: alice, subject: 'Again', messageId: 'p2@customer.test' }));
    expect(res.body.results[0].status).toBe('created');
    const events = await t.http().get(`/requests/${res.body.results[0].requestId}/events`).set(auth).expect(200);
    const suppressed = events.body.items.find((e: { type: string }) => e.type === 'auto_reply_suppressed');
    expect(suppressed.data.reason).toMatch(/rate limit/);
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo(alice)).toHaveLength(4);
  });

  it('never auto-replies to no-reply senders or blocked customers', async () => {
    const r1 = await postRaw(
      t,
      rawMail({ from: 'no-reply@shop.test', subject: 'Your order', messageId: 'n1@shop.test' }),
    );
    expect(r1.body.results[0].status).toBe('created');
    await sql(t, `INSERT INTO customers (email, blocked) VALUES ('spammer@spam.test', true)`);
    const r2 = await postRaw(t, rawMail({ from: 'spammer@spam.test', subject: 'Buy', messageId: 's1@spam.test' }));
    expect(r2.body.results[0]).toMatchObject({ status: 'ignored', reason: 'sender is blocked', requestId: null });
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo('no-reply@shop.test')).toHaveLength(0);
    expect(mailsTo('spammer@spam.test')).toHaveLength(0);
  });

  it('shows a mail the server refused for good as failed, with the reason, on the message', async () => {
    const res = await postRaw(
      t,
      rawMail({ from: 'bob@customer.test', subject: 'Refused', messageId: 'b1@customer.test' }),
    );
    const requestId = res.body.results[0].requestId as number;
    await waitFor(async () => mailsTo('bob@customer.test').length === 1);
    sink.failNext(1, 550, 'No such user');
    const posted = await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth)
      .send({ text: 'Hello?' })
      .expect(201);
    const failed = await waitFor(async () => {
      const list = await t.http().get(`/requests/${requestId}/messages`).set(auth);
      const m = list.body.items.find((x: { id: number }) => x.id === posted.body.id);
      return m?.delivery?.status === 'failed' && m;
    });
    expect(failed.delivery.lastError).toMatch(/550/);
  });
});
