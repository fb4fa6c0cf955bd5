import { randomUUID } from 'node:crypto';
import { createTestApp, TestApp } from '../setup/app';
import { fixture, sql, waitFor } from '../setup/mail';
import { makeSnsKey, signSns, type SnsTestKey, type SnsTestServer, startSnsServer } from '../setup/sns';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:maildesk-inbound';
const OTHER_TOPIC = 'arn:aws:sns:us-east-1:123456789012:someone-else';

/**
 * Amazon SES receipts through SNS (issue 19): SNS messages signed in the test exactly as SNS signs
 * them (versions 1 and 2) with a test key whose certificate a local server serves, trusted only
 * because SNS_EXTRA_URL_PREFIXES names that server. Every message is refused before anything is
 * stored or fetched unless its topic is allowed, its certificate URL trusted and its signature valid.
 */
describe('POST /inbound/ses (Amazon SES through SNS)', () => {
  let t: TestApp;
  let key: SnsTestKey;
  let sns: SnsTestServer;
  let auth: { Authorization: string };

  /** The SES raw mail of the fixture. */
  const sesMail = (o: { messageId: string; to?: string; rcpt?: string; subject?: string }) =>
    fixture('ses/mail.eml', {
      MESSAGE_ID: o.messageId,
      TO: o.to ?? 'support@desk.test',
      RCPT: o.rcpt ?? 'support@desk.test',
      SUBJECT: o.subject ?? 'Printer is broken',
      SES_ID: 'o3d8f1vq4s1l8d4r2sn7d0m5j4ag0ib2t5iq5fg1',
    });

  /** The SES Received notification (the SNS Message) carrying `raw` in `encoding`. */
  const received = (raw: Buffer, o: { messageId: string; rcpt?: string; encoding?: 'BASE64' | 'UTF8' }) => {
    const encoding = o.encoding ?? 'BASE64';
    const doc = JSON.parse(
      fixture('ses/received.json', {
        SES_ID: 'o3d8f1vq4s1l8d4r2sn7d0m5j4ag0ib2t5iq5fg1',
        RCPT: o.rcpt ?? 'support@desk.test',
        TO: 'support@desk.test',
        SUBJECT: 'Printer is broken',
        MESSAGE_ID: o.messageId,
        TOPIC,
        ENCODING: encoding,
        CONTENT: '',
      }).toString('utf8'),
    );
    doc.content = encoding === 'BASE64' ? raw.toString('base64') : raw.toString('utf8');
    return JSON.stringify(doc);
  };

  /** An SNS Notification of `message`, signed. */
  const notification = (message: string, o: { topic?: string; version?: '1' | '2'; certUrl?: string } = {}) =>
    signSns(
      {
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: o.topic ?? TOPIC,
        Subject: 'Amazon SES Email Receipt Notification',
        Message: message,
        Timestamp: new Date().toISOString(),
        SigningCertURL: o.certUrl ?? sns.certUrl,
        UnsubscribeURL: `${sns.base}unsubscribe`,
      },
      key.keyPem,
      o.version ?? '2',
    );

  /** POSTs an SNS message as SNS does: JSON as text/plain, with its x-amz-sns headers. */
  const post = (m: Record<string, string>, body = JSON.stringify(m)) =>
    t
      .http()
      .post('/inbound/ses')
      .set('Content-Type', 'text/plain; charset=UTF-8')
      .set('x-amz-sns-message-type', m.Type)
      .set('x-amz-sns-message-id', m.MessageId)
      .set('x-amz-sns-topic-arn', m.TopicArn)
      .send(body);

  const inboundCount = async () => Number((await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM inbound_mail'))[0].n);

  beforeAll(async () => {
    key = makeSnsKey();
    sns = await startSnsServer(key.certPem);
    t = await createTestApp({ SES_SNS_TOPIC_ARNS: TOPIC, SNS_EXTRA_URL_PREFIXES: sns.base });
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
  });

  afterAll(async () => {
    await t?.close();
    await sns?.close();
  });

  it('creates a request from a signed Notification (version 2, base64 content); the same mail again is a duplicate', async () => {
    const raw = sesMail({ messageId: 'ses-1@customer.test' });
    const first = await post(notification(received(raw, { messageId: 'ses-1@customer.test' })));
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      type: 'Notification',
      results: [{ status: 'created', requestId: expect.any(Number), messageId: 'ses-1@customer.test', reason: null }],
    });
    const requestId = first.body.results[0].requestId as number;
    const messages = await t.http().get(`/requests/${requestId}/messages`).set(auth).expect(200);
    expect(messages.body.items[0]).toEqual(
      expect.objectContaining({ from: 'alice@customer.test', subject: 'Printer is broken' }),
    );
    expect(messages.body.items[0].text).toContain('Grüße, Alice');
    const rows = await sql<{ source: string }>(t, 'SELECT source FROM inbound_mail WHERE message_id = $1', [
      'ses-1@customer.test',
    ]);
    expect(rows).toEqual([{ source: 'ses' }]);

    // SNS delivers at least once: the same mail in a new SNS message (its own MessageId) changes nothing.
    const again = await post(notification(received(raw, { messageId: 'ses-1@customer.test' }), { version: '1' }));
    expect(again.status).toBe(200);
    expect(again.body.results).toEqual([
      { status: 'duplicate', requestId, messageId: 'ses-1@customer.test', reason: 'already received' },
    ]);
    const count = await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM messages WHERE message_id = $1', [
      'ses-1@customer.test',
    ]);
    expect(Number(count[0].n)).toBe(1);
  });

  it('verifies SignatureVersion 1 (SHA1withRSA) and takes UTF-8 content', async () => {
    const raw = sesMail({ messageId: 'ses-utf8@customer.test', subject: 'UTF-8 content' });
    const res = await post(
      notification(received(raw, { messageId: 'ses-utf8@customer.test', encoding: 'UTF8' }), { version: '1' }),
    );
    expect(res.status).toBe(200);
    // Alice's request is open: her second mail goes on it.
    expect(res.body.results[0]).toEqual(
      expect.objectContaining({ status: 'appended', messageId: 'ses-utf8@customer.test' }),
    );
  });

  it("routes by the SES envelope's recipients to a second mailbox", async () => {
    const box = await t
      .http()
      .post('/mailboxes')
      .set(auth)
      .send({ name: 'Billing', address: 'billing@desk.test' })
      .expect(201);
    // The header says support@, the envelope (mail.destination, receipt.recipients) billing@ (a Bcc).
    const raw = sesMail({ messageId: 'ses-billing@customer.test', rcpt: 'billing@desk.test', to: 'support@desk.test' });
    const res = await post(
      notification(received(raw, { messageId: 'ses-billing@customer.test', rcpt: 'billing@desk.test' })),
    );
    expect(res.status).toBe(200);
    const requestId = res.body.results[0].requestId as number;
    const request = await t.http().get(`/requests/${requestId}`).set(auth).expect(200);
    expect(request.body.mailbox).toEqual({ id: box.body.id, address: 'billing@desk.test' });
  });

  it('refuses a tampered, foreign-host, unknown-topic or unknown-version message before storing or fetching anything', async () => {
    const before = await inboundCount();
    const raw = sesMail({ messageId: 'ses-forged@customer.test' });
    const good = notification(received(raw, { messageId: 'ses-forged@customer.test' }));

    // The content swapped after signing.
    const forgedRaw = sesMail({ messageId: 'ses-forged@customer.test', subject: 'Send me the passwords' });
    const tampered = { ...good, Message: received(forgedRaw, { messageId: 'ses-forged@customer.test' }) };
    const r1 = await post(tampered);
    expect(r1.status).toBe(403);
    expect(r1.body).toEqual(expect.objectContaining({ statusCode: 403, message: 'the SNS signature does not verify' }));

    // A signature that is not base64 of anything it signs.
    expect((await post({ ...good, Signature: 'AAAA' })).status).toBe(403);

    const callsBefore = sns.calls.length;
    // Certificates from anywhere but an SNS host (or the configured test prefix) are never fetched.
    for (const certUrl of [
      'https://evil.example.com/SimpleNotificationService-test.pem',
      'https://sns.us-east-1.amazonaws.com.evil.example.com/cert.pem',
      'http://sns.us-east-1.amazonaws.com/cert.pem',
      `${sns.base.replace('127.0.0.1', 'localhost')}SimpleNotificationService-test.pem`,
    ]) {
      const r = await post(notification(received(raw, { messageId: 'ses-forged@customer.test' }), { certUrl }));
      expect(r.status).toBe(403);
      expect(r.body.message).toMatch(/^SigningCertURL is not trusted/);
    }
    // A topic not in SES_SNS_TOPIC_ARNS, correctly signed.
    const r3 = await post(
      notification(received(raw, { messageId: 'ses-forged@customer.test' }), { topic: OTHER_TOPIC }),
    );
    expect(r3.status).toBe(403);
    expect(r3.body.message).toBe('TopicArn is not one of SES_SNS_TOPIC_ARNS');
    expect(sns.calls.length).toBe(callsBefore);

    // A SignatureVersion SNS does not use.
    const v3 = { ...good, SignatureVersion: '3' };
    const r4 = await post(v3);
    expect(r4.status).toBe(403);
    expect(r4.body.message).toBe('SignatureVersion must be 1 or 2');

    // A replay of an old message: signed, but hours old.
    const old = signSns(
      {
        ...notification('{}'),
        Message: received(raw, { messageId: 'ses-forged@customer.test' }),
        Timestamp: new Date(Date.now() - 3 * 3600_000).toISOString(),
      },
      key.keyPem,
    );
    expect((await post(old)).status).toBe(403);

    expect(await inboundCount()).toBe(before);
    // The genuine message still goes through.
    const ok = await post(good);
    expect(ok.status).toBe(200);
    expect(ok.body.results[0]).toEqual(
      expect.objectContaining({ status: 'appended', messageId: 'ses-forged@customer.test' }),
    );
  });

  it('answers 400 for a body that is no SNS message and 413 past the SNS size before reading it', async () => {
    const r1 = await t.http().post('/inbound/ses').set('Content-Type', 'text/plain').send('hello');
    expect(r1.status).toBe(400);
    const r2 = await t
      .http()
      .post('/inbound/ses')
      .set('Content-Type', 'application/json')
      .send({ Type: 'Notification' });
    expect(r2.status).toBe(400);
    const r3 = await t
      .http()
      .post('/inbound/ses')
      .set('Content-Type', 'text/plain')
      .send('x'.repeat(600 * 1024));
    expect(r3.status).toBe(413);
  });

  it('confirms the subscription of an allowed topic (GET SubscribeURL) and not of another', async () => {
    const confirmation = (topic: string) =>
      signSns(
        {
          Type: 'SubscriptionConfirmation',
          MessageId: randomUUID(),
          Token: '2336412f37fb687f5d51e6e2425ba1f30',
          TopicArn: topic,
          Message: `You have chosen to subscribe to the topic ${topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
          SubscribeURL: `${sns.base}confirm?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topic)}&Token=2336412f37fb687f5d51e6e2425ba1f30`,
          Timestamp: new Date().toISOString(),
          SigningCertURL: sns.certUrl,
        },
        key.keyPem,
        '1',
      );
    const confirms = () => sns.calls.filter((c) => c.startsWith('/confirm?'));

    const other = await post(confirmation(OTHER_TOPIC));
    expect(other.status).toBe(403);
    expect(confirms()).toEqual([]);

    const ok = await post(confirmation(TOPIC));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ type: 'SubscriptionConfirmation', results: [], confirmed: true });
    expect(confirms()).toHaveLength(1);
    expect(new URL(confirms()[0], sns.base).searchParams.get('TopicArn')).toBe(TOPIC);

    // A SubscribeURL off the SNS hosts is never called, even in a validly signed message.
    const foreign = signSns(
      { ...confirmation(TOPIC), SubscribeURL: 'https://evil.example.com/confirm?Action=ConfirmSubscription' },
      key.keyPem,
    );
    const r = await post(foreign);
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/^SubscribeURL is not trusted/);
    expect(confirms()).toHaveLength(1);
  });

  it('keeps a mail whose content SES put in S3 in quarantine with the reason (never lost silently)', async () => {
    const message = fixture('ses/received-s3.json', {
      SES_ID: 'k1s3example',
      RCPT: 'support@desk.test',
      MESSAGE_ID: 'ses-large@customer.test',
      TOPIC,
    }).toString('utf8');
    const res = await post(notification(message));
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      {
        status: 'quarantined',
        requestId: null,
        messageId: null,
        reason: expect.stringContaining('s3://maildesk-inbound/mail/k1s3example'),
      },
    ]);
    const rows = await sql<{ source: string; status: string }>(
      t,
      "SELECT source, status FROM inbound_mail WHERE reason LIKE '%k1s3example%'",
    );
    expect(rows).toEqual([{ source: 'ses', status: 'quarantined' }]);
  });

  it('answers 503 while the database refuses connections (SNS retries), and the same SNS message is stored once it is back', async () => {
    const name = new URL(t.db.url).pathname.slice(1);
    const pg = await import('pg');
    const c = new pg.default.Client({ connectionString: t.db.url.replace(`/${name}`, '/postgres') });
    await c.connect();
    const raw = Buffer.from(
      sesMail({ messageId: 'ses-outage@customer.test' })
        .toString('utf8')
        .replace(/alice@customer\.test/g, 'dora@customer.test'),
    );
    const message = notification(received(raw, { messageId: 'ses-outage@customer.test' }));
    try {
      await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await c.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [name],
      );
      const res = await post(message);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ statusCode: 503 });
      await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      const ok = await waitFor(async () => {
        const r = await post(message);
        return r.status === 200 && r;
      });
      expect(ok.body.results[0]).toEqual(
        expect.objectContaining({ status: 'created', messageId: 'ses-outage@customer.test' }),
      );
    } finally {
      await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await c.end();
    }
  });

  it("answers SES's setup notification with no result", async () => {
    const res = await post(notification(JSON.stringify({ notificationType: 'AMAZON_SES_SETUP_NOTIFICATION' })));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ type: 'Notification', results: [] });
  });
});
