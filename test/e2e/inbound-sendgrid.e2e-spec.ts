import { createTestApp, TEST_INBOUND_TOKEN, TestApp } from '../setup/app';
import { rawMail, sql } from '../setup/mail';
import { PNG, providerFixture } from '../setup/providers';
import { multipartBody, statusBeforeBody } from '../setup/providers-http';

describe('POST /inbound/sendgrid', () => {
  let t: TestApp;
  const RUN = Date.now().toString(36);
  const basic = `Basic ${Buffer.from(`sendgrid:${TEST_INBOUND_TOKEN}`).toString('base64')}`;
  let billingId: number;

  beforeAll(async () => {
    t = await createTestApp({ INBOUND_MAX_BYTES: '262144' });
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

  /** The documented parsed payload with `overrides`, as multipart with its one inline image. */
  function postParsed(overrides: Record<string, string> = {}, path = `/inbound/sendgrid?token=${TEST_INBOUND_TOKEN}`) {
    const fields = { ...providerFixture('sendgrid-parsed.json', { RUN }), ...overrides } as Record<string, string>;
    let req = t.http().post(path);
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    return req.attach('attachment1', PNG, { filename: 'diagram.png', contentType: 'image/png' });
  }

  it('stores the parsed payload with its Cc, HTML and inline image content id', async () => {
    const res = await postParsed();
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { status: 'created', requestId: expect.any(Number), messageId: `sg-${RUN}@customer.test`, reason: null },
    ]);
    const [message] = await sql<{ id: number; subject: string; html: string; from_address: string }>(
      t,
      `SELECT id, subject, html, from_address FROM messages WHERE message_id = $1`,
      [`sg-${RUN}@customer.test`],
    );
    expect(message).toMatchObject({ subject: `Printer ${RUN} jams`, from_address: 'bob@customer.test' });
    expect(message.html).toContain('The printer jams');
    await expect(
      sql(t, `SELECT filename, content_type, content_id FROM attachments WHERE message_id = $1`, [message.id]),
    ).resolves.toEqual([
      { filename: 'diagram.png', content_type: 'image/png', content_id: `diagram-${RUN}@customer.test` },
    ]);
  });

  it('answers duplicate for the same payload posted twice (Basic auth with the token as password)', async () => {
    const res = await postParsed({}, '/inbound/sendgrid').set('Authorization', basic);
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: 'duplicate', messageId: `sg-${RUN}@customer.test` });
  });

  it('threads a parsed reply by the In-Reply-To of its header block', async () => {
    const [{ request_id: requestId }] = await sql<{ request_id: number }>(
      t,
      `SELECT request_id FROM messages WHERE message_id = $1`,
      [`sg-${RUN}@customer.test`],
    );
    const headers = [
      'From: Bob Example <bob@customer.test>',
      'To: support@desk.test',
      'Subject: Re: unrelated words',
      `Message-ID: <sg-reply-${RUN}@customer.test>`,
      `In-Reply-To: <sg-${RUN}@customer.test>`,
      `References: <sg-${RUN}@customer.test>`,
      '',
    ].join('\n');
    const res = await t
      .http()
      .post(`/inbound/sendgrid?token=${TEST_INBOUND_TOKEN}`)
      .field('headers', headers)
      .field('from', 'Bob Example <bob@customer.test>')
      .field('to', 'support@desk.test')
      .field('subject', 'Re: unrelated words')
      .field('text', 'Still jamming.')
      .field('envelope', JSON.stringify({ to: ['support@desk.test'], from: 'bob@customer.test' }));
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: 'appended', requestId });
  });

  it('ingests the raw mode `email` field byte for byte, routed by envelope.to to its mailbox', async () => {
    const raw = rawMail({
      from: 'hal@customer.test',
      subject: 'Café ☕ order',
      messageId: `sg-raw-${RUN}@customer.test`,
    });
    // SendGrid posts the mail's own bytes (here 8-bit UTF-8 in the Subject), not re-encoded.
    const { body, contentType } = multipartBody({
      email: raw,
      to: 'support@desk.test',
      envelope: JSON.stringify({ to: ['billing@desk.test'], from: 'hal@customer.test' }),
      charsets: JSON.stringify({ to: 'UTF-8', subject: 'UTF-8', from: 'UTF-8' }),
    });
    const res = await t
      .http()
      .post(`/inbound/sendgrid?token=${TEST_INBOUND_TOKEN}`)
      .set('Content-Type', contentType)
      .send(body);
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: 'created', messageId: `sg-raw-${RUN}@customer.test` });
    const [row] = await sql<{ mailbox_id: number | null; subject: string }>(
      t,
      `SELECT r.mailbox_id, m.subject FROM requests r JOIN messages m ON m.request_id = r.id WHERE m.message_id = $1`,
      [`sg-raw-${RUN}@customer.test`],
    );
    expect(row).toEqual({ mailbox_id: billingId, subject: 'Café ☕ order' });
  });

  it('answers 401 without the token or with a wrong one, before reading the body', async () => {
    const none = await postParsed({}, '/inbound/sendgrid');
    expect(none.status).toBe(401);
    const wrong = await postParsed({}, '/inbound/sendgrid?token=wrong-token-0123456789');
    expect(wrong.status).toBe(401);
    const wrongBasic = await postParsed({}, '/inbound/sendgrid').set(
      'Authorization',
      `Basic ${Buffer.from('sendgrid:wrong-token-0123456789').toString('base64')}`,
    );
    expect(wrongBasic.status).toBe(401);
    // 512 MB announced, 1 KB sent: answered without waiting for the rest.
    const huge = await statusBeforeBody(t, '/inbound/sendgrid?token=wrong', {
      'Content-Type': 'multipart/form-data; boundary=x',
    });
    expect(huge.status).toBe(401);
  });

  it('answers 413 for a body over the limit and 400 for a form that holds no mail, never 500', async () => {
    const big = await t
      .http()
      .post(`/inbound/sendgrid?token=${TEST_INBOUND_TOKEN}`)
      .field('email', 'x'.repeat(600 * 1024));
    expect(big.status).toBe(413);
    const empty = await t.http().post(`/inbound/sendgrid?token=${TEST_INBOUND_TOKEN}`).field('spam_score', '0.1');
    expect(empty.status).toBe(400);
    const broken = await t
      .http()
      .post(`/inbound/sendgrid?token=${TEST_INBOUND_TOKEN}`)
      .set('Content-Type', 'multipart/form-data; boundary=zzz')
      .send('--zzz\r\nContent-Disposition: form-data; name="email"\r\n\r\nunterminated');
    expect([400, 413]).toContain(broken.status);
    const json = await t.http().post(`/inbound/sendgrid?token=${TEST_INBOUND_TOKEN}`).send({ email: 'x' });
    expect(json.status).toBe(415);
  });
});

describe('POST /inbound/sendgrid and /inbound/mailgun under the webhook failure quota', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      WEBHOOK_FAILURE_RATE_LIMIT: '2',
      MAILGUN_SIGNING_KEY: 'test-mailgun-signing-key-0123456789',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 429 once an address failed its credentials WEBHOOK_FAILURE_RATE_LIMIT times, even with the right token', async () => {
    expect((await t.http().post('/inbound/sendgrid?token=wrong-1').field('email', 'x')).status).toBe(401);
    const forged = await t
      .http()
      .post('/inbound/mailgun')
      .type('form')
      .send({ timestamp: String(Math.floor(Date.now() / 1000)), token: 'a'.repeat(50), signature: '0'.repeat(64) });
    expect(forged.status).toBe(406);
    const limited = await t.http().post(`/inbound/sendgrid?token=${TEST_INBOUND_TOKEN}`).field('email', 'x');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
  });
});
