import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import nodemailer from 'nodemailer';
import { SmtpListenerService } from '../../src/inbound-mail/smtp/smtp-listener.service';
import { createTestApp, type TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { rawMail, sql, waitFor } from '../setup/mail';
import { SmtpTestClient } from '../setup/smtp-client';

const MAX_BYTES = 16 * 1024;
const RUN = Date.now().toString(36);

/** A self-signed certificate for localhost / 127.0.0.1 (node:crypto makes no X.509: openssl does). */
function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  return { cert, key };
}

/** A mail to `to` (header), Message-ID `<id>`. */
function mail(id: string, o: { from?: string; to?: string; subject?: string; text?: string } = {}): Buffer {
  return Buffer.from(
    [
      `From: ${o.from ?? 'Ann <ann@customer.test>'}`,
      `To: ${o.to ?? 'support@desk.test'}`,
      `Subject: ${o.subject ?? 'Printer'}`,
      'Date: Wed, 25 Nov 2026 09:00:00 +0000',
      `Message-ID: <${id}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      o.text ?? 'The printer shows E42.',
      '',
    ].join('\r\n'),
  );
}

/**
 * Issue 19 item 1: the SMTP and LMTP listeners of the real app, driven by nodemailer and by a raw
 * client that sees every reply, on both databases.
 */
forEachDatabase('SMTP and LMTP listeners', (kind) => {
  let t: TestApp;
  let certDir: string;
  let cert: string;
  let smtpPort: number;
  let lmtpPort: number;
  let billingId: number;

  beforeAll(async () => {
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-smtp-cert-'));
    const files = selfSignedCertificate(certDir);
    cert = fs.readFileSync(files.cert, 'utf8');
    t = await createTestApp(
      {
        SMTP_LISTEN: '127.0.0.1:0',
        LMTP_LISTEN: '127.0.0.1:0',
        SMTP_TLS_CERT: files.cert,
        SMTP_TLS_KEY: files.key,
        INBOUND_MAX_BYTES: String(MAX_BYTES),
        SMTP_MAX_RECIPIENTS: '3',
        SMTP_MAX_CONNECTIONS_PER_IP: '4',
      },
      kind,
    );
    const listeners = t.app.get(SmtpListenerService);
    smtpPort = listeners.address('smtp')!.port;
    lmtpPort = listeners.address('lmtp')!.port;
    const created = await t
      .http()
      .post('/mailboxes')
      .set('Authorization', `Bearer ${await t.adminToken()}`)
      .send({ name: 'Billing', address: 'billing@desk.test', aliases: ['invoices@desk.test'] })
      .expect(201);
    billingId = created.body.id as number;
  }, 60000);

  afterAll(async () => {
    await t?.close();
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  /** The stored raw mails of a Message-ID: how many, and their source. */
  const stored = (messageId: string) =>
    sql<{ source: string; request_id: number | null }>(
      t,
      `SELECT source, request_id FROM inbound_mail WHERE message_id = $1`,
      [messageId],
    );

  /** A raw SMTP session up to RCPT TO: the client and the RCPT replies. */
  async function session(port: number, hello: string, from: string, rcpts: string[]) {
    const { client, greeting } = await SmtpTestClient.connect(port);
    expect(greeting.code).toBe(220);
    const ehlo = await client.command(hello);
    expect(ehlo.code).toBe(250);
    expect((await client.command(`MAIL FROM:<${from}>`)).code).toBe(250);
    const replies = [];
    for (const r of rcpts) replies.push(await client.command(`RCPT TO:<${r}>`));
    return { client, ehlo, replies };
  }

  it('files a mail to the default address as a new request, answering 250 once it is stored', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
    const id = `default.${RUN}.${kind}@customer.test`;
    const info = await transport.sendMail({
      envelope: { from: 'ann@customer.test', to: ['support@desk.test'] },
      raw: mail(id),
    });
    expect(info.response).toMatch(/^250 2\.6\.0 <.+> stored \(created request \d+\)$/);
    const rows = await stored(id);
    expect(rows).toEqual([{ source: 'smtp', request_id: expect.any(Number) }]);
    const [request] = await sql<{ subject: string; mailbox_id: number | null }>(
      t,
      `SELECT subject, mailbox_id FROM requests WHERE id = $1`,
      [rows[0].request_id],
    );
    expect(request).toEqual({ subject: 'Printer', mailbox_id: null });
  });

  it('routes by the envelope: a mail whose header says support@ but sent to billing@ lands in Billing', async () => {
    const id = `billing.${RUN}.${kind}@customer.test`;
    const { client, replies } = await session(smtpPort, 'EHLO mx.customer.test', 'bob@customer.test', [
      'Invoices@Desk.Test',
    ]);
    expect(replies[0].code).toBe(250);
    const { replies: answers } = await client.data(mail(id, { from: 'bob@customer.test', subject: 'Invoice' }));
    expect(answers[0].code).toBe(250);
    await client.quit();
    const [row] = await stored(id);
    const [request] = await sql<{ mailbox_id: number }>(t, `SELECT mailbox_id FROM requests WHERE id = $1`, [
      row.request_id,
    ]);
    expect(request.mailbox_id).toBe(billingId);
  });

  it('refuses any other recipient with 550 5.1.1 (never a relay), and keeps the session for the good ones', async () => {
    const { client, replies } = await session(smtpPort, 'EHLO relay-test', 'spammer@elsewhere.test', [
      'someone@gmail.com',
      'nobody@desk.test',
      'support@desk.test',
    ]);
    expect(replies.map((r) => r.code)).toEqual([550, 550, 250]);
    expect(replies[0].text).toBe('5.1.1 <someone@gmail.com>: no such mailbox here');
    await client.quit();
    const metrics = await t.http().get('/metrics').expect(200);
    expect(metrics.text).toMatch(/maildesk_smtp_replies_total\{listener="smtp",stage="recipient",code="550"\} [1-9]/);
    expect(metrics.text).toMatch(/maildesk_mails_ingested_total\{source="smtp",result="created"\} [1-9]/);
  });

  it('advertises SIZE and answers 552 5.3.4 past it, on the SIZE parameter and on the data, storing nothing', async () => {
    const { client, greeting } = await SmtpTestClient.connect(smtpPort);
    expect(greeting.code).toBe(220);
    const ehlo = await client.command('EHLO size-test');
    expect(ehlo.lines).toContain(`SIZE ${MAX_BYTES}`);
    expect(ehlo.lines).not.toContain('AUTH PLAIN LOGIN');
    expect(ehlo.lines.some((l) => l.startsWith('AUTH'))).toBe(false);
    const declared = await client.command(`MAIL FROM:<ann@customer.test> SIZE=${MAX_BYTES + 1}`);
    expect(declared.code).toBe(552);
    expect(declared.text).toMatch(/^5\.3\.4 /);

    expect((await client.command('MAIL FROM:<ann@customer.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<support@desk.test>')).code).toBe(250);
    const id = `big.${RUN}.${kind}@customer.test`;
    const { replies } = await client.data(
      mail(id, { text: 'x'.repeat(76) + '\r\n'.repeat(1) + 'y'.repeat(MAX_BYTES) }),
    );
    expect(replies[0].code).toBe(552);
    expect(replies[0].text).toMatch(/^5\.3\.4 /);
    // The session goes on after the refusal.
    expect((await client.command('NOOP')).code).toBe(250);
    await client.quit();
    await expect(stored(id)).resolves.toEqual([]);
  });

  it('answers 452 4.5.3 past SMTP_MAX_RECIPIENTS', async () => {
    const { client, replies } = await session(smtpPort, 'EHLO many', 'ann@customer.test', [
      'support@desk.test',
      'billing@desk.test',
      'invoices@desk.test',
      'support@desk.test',
      'other@desk.test',
    ]);
    // a repeated recipient replaces the earlier one; the fourth distinct one is refused
    expect(replies.map((r) => r.code)).toEqual([250, 250, 250, 250, 452]);
    expect(replies[4].text).toMatch(/^4\.5\.3 /);
    await client.quit();
  });

  it('stores the same mail once: both deliveries answer 250, the second as a duplicate', async () => {
    const id = `twice.${RUN}.${kind}@customer.test`;
    const answers = [];
    for (let i = 0; i < 2; i++) {
      const { client } = await session(smtpPort, 'EHLO twice', 'eve@customer.test', ['support@desk.test']);
      const { replies } = await client.data(mail(id, { from: 'eve@customer.test', subject: 'Twice' }));
      answers.push(replies[0]);
      await client.quit();
    }
    expect(answers.map((a) => a.code)).toEqual([250, 250]);
    expect(answers[1].text).toMatch(/\(duplicate\)$/);
    await expect(stored(id)).resolves.toHaveLength(1);
    const requests = await sql(t, `SELECT id FROM requests WHERE subject = 'Twice'`);
    expect(requests).toHaveLength(1);
  });

  it('offers STARTTLS with the configured certificate, and nodemailer delivers over it', async () => {
    const { client } = await SmtpTestClient.connect(smtpPort);
    const ehlo = await client.command('EHLO tls-test');
    expect(ehlo.lines).toContain('STARTTLS');
    expect((await client.startTls(cert)).code).toBe(220);
    expect(client.encrypted).toBe(true);
    expect((await client.command('EHLO tls-test')).code).toBe(250);
    await client.quit();

    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtpPort,
      secure: false,
      requireTLS: true,
      tls: { ca: cert, servername: 'localhost' },
    });
    const id = `tls.${RUN}.${kind}@customer.test`;
    const info = await transport.sendMail({
      envelope: { from: 'ann@customer.test', to: ['support@desk.test'] },
      raw: mail(id, { subject: 'Over TLS' }),
    });
    expect(info.response).toMatch(/^250 /);
    await expect(stored(id)).resolves.toHaveLength(1);
  });

  it('refuses connections past SMTP_MAX_CONNECTIONS_PER_IP with 421 4.7.0', async () => {
    const open: SmtpTestClient[] = [];
    // Connections of the tests before may still be closing on the server's side.
    await waitFor(async () => {
      const { client, greeting } = await SmtpTestClient.connect(smtpPort);
      if (greeting.code === 220) open.push(client);
      else await client.quit();
      return open.length === 4;
    });
    const { client, greeting } = await SmtpTestClient.connect(smtpPort);
    expect(greeting.code).toBe(421);
    expect(greeting.text).toMatch(/^4\.7\.0 /);
    await client.closed;
    await Promise.all(open.map((c) => c.quit()));
    // Freed again once they are gone.
    await waitFor(async () => {
      const again = await SmtpTestClient.connect(smtpPort);
      await again.client.quit();
      return again.greeting.code === 220;
    });
  });

  it('LMTP: one answer per recipient, the mail stored once, filed by the first mailbox recipient', async () => {
    const id = `lmtp.${RUN}.${kind}@customer.test`;
    const { client, ehlo, replies } = await session(lmtpPort, 'LHLO mta.desk.test', 'carol@customer.test', [
      'billing@desk.test',
      'nobody@desk.test',
      'support@desk.test',
    ]);
    expect(ehlo.lines).toContain(`SIZE ${MAX_BYTES}`);
    expect(replies.map((r) => r.code)).toEqual([250, 550, 250]);
    const { replies: answers } = await client.data(mail(id, { from: 'carol@customer.test', subject: 'LMTP' }), 2);
    expect(answers.map((a) => a.code)).toEqual([250, 250]);
    expect(answers[0].text).toMatch(/^2\.6\.0 <billing@desk\.test> <.+> stored \(created request \d+\)$/);
    expect(answers[1].text).toMatch(/^2\.6\.0 <support@desk\.test> /);
    await client.quit();
    const rows = await stored(id);
    expect(rows).toEqual([{ source: 'lmtp', request_id: expect.any(Number) }]);
    const [request] = await sql<{ mailbox_id: number }>(t, `SELECT mailbox_id FROM requests WHERE id = $1`, [
      rows[0].request_id,
    ]);
    expect(request.mailbox_id).toBe(billingId);
  });

  if (kind === 'postgres') {
    it('answers 451 4.3.0 while the database refuses connections, and 250 once it is back', async () => {
      const name = new URL(t.db.url).pathname.slice(1);
      const pg = await import('pg');
      const admin = new pg.default.Client({ connectionString: t.db.url.replace(`/${name}`, '/postgres') });
      await admin.connect();
      const id = `outage.${RUN}@customer.test`;
      try {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
        await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [name],
        );
        const { client } = await session(smtpPort, 'EHLO outage', 'dan@customer.test', ['support@desk.test']);
        const { replies } = await client.data(rawMail({ from: 'dan@customer.test', subject: 'outage', messageId: id }));
        expect(replies[0].code).toBe(451);
        expect(replies[0].text).toMatch(/^4\.3\.0 /);
        await client.quit();
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
        const accepted = await waitFor(
          async () => {
            const s = await session(smtpPort, 'EHLO outage', 'dan@customer.test', ['support@desk.test']);
            const { replies: again } = await s.client.data(
              rawMail({ from: 'dan@customer.test', subject: 'outage', messageId: id }),
            );
            await s.client.quit();
            return again[0].code === 250 && again[0];
          },
          20000,
          500,
        );
        expect(accepted.text).toMatch(/stored \(created request \d+\)$/);
        await expect(stored(id)).resolves.toHaveLength(1);
      } finally {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
        await admin.end();
      }
    }, 60000);
  }

  it("accepts a deactivated mailbox's address (still the desk's) and files its mail in the default mailbox", async () => {
    const auth = { Authorization: `Bearer ${await t.adminToken()}` };
    const created = await t
      .http()
      .post('/mailboxes')
      .set(auth)
      .send({ name: 'Old', address: 'old@desk.test' })
      .expect(201);
    await t.http().delete(`/mailboxes/${created.body.id}`).set(auth).expect(200);
    const id = `old.${RUN}.${kind}@customer.test`;
    const { client, replies } = await session(smtpPort, 'EHLO old', 'gus@customer.test', ['old@desk.test']);
    expect(replies[0].code).toBe(250);
    const { replies: answers } = await client.data(mail(id, { from: 'gus@customer.test', to: 'old@desk.test' }));
    expect(answers[0].code).toBe(250);
    await client.quit();
    const [row] = await stored(id);
    const [request] = await sql<{ mailbox_id: number | null }>(t, `SELECT mailbox_id FROM requests WHERE id = $1`, [
      row.request_id,
    ]);
    expect(request.mailbox_id).toBeNull();
  });

  // Last: it stops the listeners of this app.
  it('at shutdown stops accepting, lets the mail being sent finish with 250, then closes', async () => {
    const id = `shutdown.${RUN}.${kind}@customer.test`;
    const { client } = await session(smtpPort, 'EHLO shutdown', 'fay@customer.test', ['support@desk.test']);
    expect((await client.command('DATA')).code).toBe(354);
    const raw = mail(id, { from: 'fay@customer.test', subject: 'Shutdown' }).toString('latin1');
    client.write(raw.slice(0, 100));
    const stopping = t.app.get(SmtpListenerService).onModuleDestroy();
    await expect(SmtpTestClient.connect(smtpPort)).rejects.toThrow(/ECONNREFUSED/);
    client.write(raw.slice(100) + '.\r\n');
    const answer = await client.read();
    expect(answer.code).toBe(250);
    await client.quit();
    await stopping;
    await expect(stored(id)).resolves.toHaveLength(1);
  });
});
