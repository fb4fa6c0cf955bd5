import { createTestApp, TestApp } from '../setup/app';
import { rawMail, sql } from '../setup/mail';
import { mailgunSigned, PNG, providerFixture, TEST_MAILGUN_KEY } from '../setup/providers';

describe('POST /inbound/mailgun', () => {
  let t: TestApp;
  const RUN = Date.now().toString(36);
  let billingId: number;

  beforeAll(async () => {
    t = await createTestApp({ MAILGUN_SIGNING_KEY: TEST_MAILGUN_KEY, INBOUND_MAX_BYTES: '262144' });
    const auth = { Authorization: `Bearer ${await t.adminToken()}` };
    const created = await t
      .http()
      .post('/mailboxes')
      .set(auth)
      .send({ name: 'Billing', address: 'billing@desk.test' })
      .expect(201);
    billingId = created.body.id as number;
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The documented parsed form, freshly signed, with `overrides`, posted as multipart with its two files. */
  function postParsed(overrides: Record<string, string> = {}, signed = mailgunSigned()) {
    const fields = { ...providerFixture('mailgun-parsed.json', { RUN }), ...signed, ...overrides } as Record<
      string,
      string
    >;
    let req = t.http().post('/inbound/mailgun');
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    return req
      .attach('attachment-1', PNG, { filename: 'logo.png', contentType: 'image/png' })
      .attach('attachment-2', Buffer.from('%PDF-1.4 invoice'), {
        filename: 'invoice.pdf',
        contentType: 'application/pdf',
      });
  }

  /** A `body-mime` forward (urlencoded, as Mailgun posts a mail without attachments). */
  function postMime(raw: Buffer, fields: Record<string, string> = {}, signed = mailgunSigned()) {
    // A route's URL ending in `mime` makes Mailgun post the raw mail (docs/ways-in.md).
    return t
      .http()
      .post('/inbound/mailgun?mime')
      .type('form')
      .send({
        recipient: 'support@desk.test',
        sender: 'erin@customer.test',
        'body-mime': raw.toString('utf8'),
        ...signed,
        ...fields,
      });
  }

  it('stores the parsed form as a faithful mail: headers, text and HTML, attachments with their content ids', async () => {
    const res = await postParsed();
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { status: 'created', requestId: expect.any(Number), messageId: `mg-${RUN}@customer.test`, reason: null },
    ]);
    const [message] = await sql<{ id: number; subject: string; text: string; html: string; from_address: string }>(
      t,
      `SELECT id, subject, text, html, from_address FROM messages WHERE message_id = $1`,
      [`mg-${RUN}@customer.test`],
    );
    expect(message.subject).toBe(`Invoice ${RUN} is wrong`);
    expect(message.from_address).toBe('alice@customer.test');
    expect(message.text).toContain('the invoice is wrong');
    expect(message.html).toContain('<p>Hello,</p>');
    const attachments = await sql<{ filename: string; content_type: string; content_id: string | null; size: number }>(
      t,
      `SELECT filename, content_type, content_id, size FROM attachments WHERE message_id = $1 ORDER BY filename`,
      [message.id],
    );
    expect(attachments).toEqual([
      { filename: 'invoice.pdf', content_type: 'application/pdf', content_id: null, size: 16 },
      { filename: 'logo.png', content_type: 'image/png', content_id: `logo-${RUN}@customer.test`, size: PNG.length },
    ]);
  });

  it('answers duplicate for the same mail posted again (a new token, the same Message-ID)', async () => {
    const res = await postParsed();
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: 'duplicate', messageId: `mg-${RUN}@customer.test` });
    await expect(
      sql(t, `SELECT id FROM messages WHERE message_id = $1`, [`mg-${RUN}@customer.test`]),
    ).resolves.toHaveLength(1);
  });

  it('threads a parsed reply by the In-Reply-To of its header list into the same request', async () => {
    const [{ request_id: requestId }] = await sql<{ request_id: number }>(
      t,
      `SELECT request_id FROM messages WHERE message_id = $1`,
      [`mg-${RUN}@customer.test`],
    );
    const headers = JSON.stringify([
      ['From', 'Alice Example <alice@customer.test>'],
      ['To', 'support@desk.test'],
      ['Subject', 'Re: something else entirely'],
      ['Message-Id', `<mg-reply-${RUN}@customer.test>`],
      ['In-Reply-To', `<mg-${RUN}@customer.test>`],
      ['References', `<mg-${RUN}@customer.test>`],
    ]);
    const res = await t
      .http()
      .post('/inbound/mailgun')
      .type('form')
      .send({
        recipient: 'support@desk.test',
        sender: 'alice@customer.test',
        from: 'Alice Example <alice@customer.test>',
        subject: 'Re: something else entirely',
        'body-plain': 'Any news?',
        'message-headers': headers,
        ...mailgunSigned(),
      });
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: 'appended', requestId });
    const [row] = await sql<{ in_reply_to: string }>(t, `SELECT in_reply_to FROM messages WHERE message_id = $1`, [
      `mg-reply-${RUN}@customer.test`,
    ]);
    expect(row.in_reply_to).toBe(`mg-${RUN}@customer.test`);
  });

  it('ingests body-mime as the raw mail, routed by the envelope recipient to its mailbox', async () => {
    const raw = rawMail({ from: 'erin@customer.test', subject: 'Refund', messageId: `mime-${RUN}@customer.test` });
    const res = await postMime(raw, { recipient: 'billing@desk.test' });
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: 'created', messageId: `mime-${RUN}@customer.test` });
    const [request] = await sql<{ mailbox_id: number | null }>(t, `SELECT mailbox_id FROM requests WHERE id = $1`, [
      res.body.results[0].requestId,
    ]);
    expect(request.mailbox_id).toBe(billingId);
  });

  it('answers 406 to a forged signature, a stale timestamp and a replayed token, storing nothing', async () => {
    const raw = rawMail({ from: 'mallory@customer.test', subject: 'forged', messageId: `forged-${RUN}@customer.test` });
    const forged = await postMime(raw, {}, mailgunSigned('another-key-0123456789abcdef'));
    expect(forged.status).toBe(406);
    expect(forged.body).toMatchObject({
      statusCode: 406,
      message: expect.stringContaining('signature does not match'),
    });
    const stale = await postMime(raw, {}, mailgunSigned(TEST_MAILGUN_KEY, Math.floor(Date.now() / 1000) - 600));
    expect(stale.status).toBe(406);
    expect(stale.body.message).toContain('timestamp');
    const missing = await t.http().post('/inbound/mailgun').type('form').send({ 'body-mime': raw.toString() });
    expect(missing.status).toBe(406);
    await expect(
      sql(t, `SELECT id FROM inbound_mail WHERE message_id = $1`, [`forged-${RUN}@customer.test`]),
    ).resolves.toHaveLength(0);

    const signed = mailgunSigned();
    const first = rawMail({ from: 'gus@customer.test', subject: 'once', messageId: `once-${RUN}@customer.test` });
    expect((await postMime(first, {}, signed)).status).toBe(200);
    // The captured signature with another body, and the same call again: both replays.
    const replayed = await postMime(raw, {}, signed);
    expect(replayed.status).toBe(406);
    expect(replayed.body.message).toContain('used already');
    expect((await postMime(first, {}, signed)).status).toBe(406);
    await expect(
      sql(t, `SELECT id FROM inbound_mail WHERE message_id = $1`, [`forged-${RUN}@customer.test`]),
    ).resolves.toHaveLength(0);
  });

  it('answers 406 to a call that holds no mail (Mailgun must not retry it)', async () => {
    const res = await t
      .http()
      .post('/inbound/mailgun')
      .type('form')
      .send({ recipient: 'support@desk.test', ...mailgunSigned() });
    expect(res.status).toBe(406);
  });

  it('answers 503 while the database refuses connections, and takes the same call (same token) once it is back', async () => {
    const name = new URL(t.db.url).pathname.slice(1);
    const pg = await import('pg');
    const c = new pg.default.Client({ connectionString: t.db.url.replace(`/${name}`, '/postgres') });
    await c.connect();
    const raw = rawMail({
      from: 'ida@customer.test',
      subject: 'during outage',
      messageId: `outage-${RUN}@customer.test`,
    });
    const signed = mailgunSigned();
    try {
      await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await c.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [name],
      );
      const res = await postMime(raw, {}, signed);
      expect(res.status).toBe(503);
    } finally {
      await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await c.end();
    }
    let ok = await postMime(raw, {}, signed);
    for (let i = 0; i < 50 && ok.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 200));
      ok = await postMime(raw, {}, signed);
    }
    expect(ok.status).toBe(200);
    expect(ok.body.results[0].status).toBe('created');
  });
});
