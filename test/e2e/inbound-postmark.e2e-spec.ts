import { createTestApp, TEST_INBOUND_TOKEN, TestApp } from '../setup/app';
import { rawMail, sql } from '../setup/mail';
import { providerFixture } from '../setup/providers';
import { statusBeforeBody } from '../setup/providers-http';

describe('POST /inbound/postmark', () => {
  let t: TestApp;
  const RUN = Date.now().toString(36);
  const basic = `Basic ${Buffer.from(`postmark:${TEST_INBOUND_TOKEN}`).toString('base64')}`;
  const url = `/inbound/postmark?token=${TEST_INBOUND_TOKEN}`;
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

  const payload = (overrides: Record<string, unknown> = {}) => ({
    ...providerFixture('postmark-parsed.json', { RUN }),
    ...overrides,
  });

  it('builds the mail from the documented fields: Message-ID from Headers, names, HTML, attachment content id', async () => {
    const res = await t.http().post('/inbound/postmark').set('Authorization', basic).send(payload());
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { status: 'created', requestId: expect.any(Number), messageId: `pm-${RUN}@customer.test`, reason: null },
    ]);
    const [message] = await sql<{ id: number; subject: string; html: string; from_address: string; from_name: string }>(
      t,
      `SELECT id, subject, html, from_address, from_name FROM messages WHERE message_id = $1`,
      [`pm-${RUN}@customer.test`],
    );
    expect(message).toMatchObject({
      subject: `VPN ${RUN} is down`,
      from_address: 'dana@customer.test',
      from_name: 'Dana Example',
    });
    expect(message.html).toContain('The VPN is down');
    await expect(
      sql(t, `SELECT filename, content_type, content_id FROM attachments WHERE message_id = $1`, [message.id]),
    ).resolves.toEqual([
      { filename: 'screenshot.png', content_type: 'image/png', content_id: `shot-${RUN}@customer.test` },
    ]);
  });

  it('answers duplicate for the same payload posted twice', async () => {
    const res = await t.http().post(url).send(payload());
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: 'duplicate', messageId: `pm-${RUN}@customer.test` });
  });

  it("keeps Postmark's MessageID as the Message-ID where the headers have none, so a retry is a duplicate", async () => {
    const headers = [{ Name: 'X-Spam-Status', Value: 'No' }];
    const body = payload({ Headers: headers, MessageID: `nohdr-${RUN}`, Subject: 'No header id', Attachments: [] });
    const first = await t.http().post(url).send(body);
    expect(first.body.results[0]).toMatchObject({ messageId: `nohdr-${RUN}` });
    expect(first.body.results[0].status).not.toBe('duplicate');
    const again = await t.http().post(url).send(body);
    expect(again.body.results[0]).toMatchObject({ status: 'duplicate', messageId: `nohdr-${RUN}` });
  });

  it('threads a reply by the In-Reply-To of its Headers', async () => {
    const [{ request_id: requestId }] = await sql<{ request_id: number }>(
      t,
      `SELECT request_id FROM messages WHERE message_id = $1`,
      [`pm-${RUN}@customer.test`],
    );
    const res = await t
      .http()
      .post(url)
      .send(
        payload({
          Subject: 'Re: another subject',
          MessageID: `reply-${RUN}`,
          Attachments: [],
          Headers: [
            { Name: 'Message-ID', Value: `<pm-reply-${RUN}@customer.test>` },
            { Name: 'In-Reply-To', Value: `<pm-${RUN}@customer.test>` },
            { Name: 'References', Value: `<pm-${RUN}@customer.test>` },
          ],
        }),
      );
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: 'appended', requestId });
  });

  it('ingests RawEmail when present, routed by OriginalRecipient to its mailbox', async () => {
    const raw = rawMail({ from: 'ivy@customer.test', subject: 'Raw one', messageId: `pm-raw-${RUN}@customer.test` });
    const res = await t
      .http()
      .post(url)
      .send(payload({ RawEmail: raw.toString('utf8'), OriginalRecipient: 'billing@desk.test' }));
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: 'created', messageId: `pm-raw-${RUN}@customer.test` });
    const [row] = await sql<{ mailbox_id: number | null }>(t, `SELECT mailbox_id FROM requests WHERE id = $1`, [
      res.body.results[0].requestId,
    ]);
    expect(row.mailbox_id).toBe(billingId);
  });

  it('answers 401 without the token or with a wrong one, before reading the body', async () => {
    expect((await t.http().post('/inbound/postmark').send(payload())).status).toBe(401);
    expect((await t.http().post('/inbound/postmark?token=wrong-0123456789').send(payload())).status).toBe(401);
    const huge = await statusBeforeBody(t, '/inbound/postmark', {
      'Content-Type': 'application/json',
      Authorization: `Basic ${Buffer.from('postmark:wrong').toString('base64')}`,
    });
    expect(huge.status).toBe(401);
  });

  it('answers 403 (Postmark stops retrying) to a body that will never be accepted, never 500', async () => {
    const notJson = await t.http().post(url).set('Content-Type', 'application/json').send('{"From": ');
    expect(notJson.status).toBe(403);
    const badTypes = await t
      .http()
      .post(url)
      .send(payload({ Headers: 'x', Attachments: [{ Content: '***' }] }));
    expect(badTypes.status).toBe(403);
    const empty = await t.http().post(url).send({});
    expect(empty.status).toBe(403);
    const big = await t
      .http()
      .post(url)
      .send(payload({ TextBody: 'x'.repeat(600 * 1024) }));
    expect(big.status).toBe(403);
  });
});
