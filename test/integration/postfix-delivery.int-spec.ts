import { Client } from 'pg';
import { SmtpListenerService } from '../../src/inbound-mail/smtp/smtp-listener.service';
import { createTestApp, type TestApp } from '../setup/app';
import { rawMail, sql, waitFor } from '../setup/mail';
import { postfixAvailable, startPostfix, type TestPostfix } from '../setup/postfix';

const RUN = Date.now().toString(36);

/**
 * Issue 19 item 2: a real Postfix delivers into MailDesk's listeners, over LMTP (support@desk.test)
 * and by relaying over SMTP (billing@desk.test); while the database refuses connections the
 * listeners answer 451, the mail waits in Postfix's deferred queue and arrives once the database
 * is back: nothing lost, nothing twice.
 */
(postfixAvailable() ? describe : describe.skip)('Postfix delivering into MailDesk over LMTP and SMTP', () => {
  let t: TestApp;
  let postfix: TestPostfix;

  beforeAll(async () => {
    t = await createTestApp({ SMTP_LISTEN: '127.0.0.1:0', LMTP_LISTEN: '127.0.0.1:0' }, 'postgres');
    await t
      .http()
      .post('/mailboxes')
      .set('Authorization', `Bearer ${await t.adminToken()}`)
      .send({ name: 'Billing', address: 'billing@desk.test' })
      .expect(201);
    const listeners = t.app.get(SmtpListenerService);
    postfix = await startPostfix({
      transports: {
        'support@desk.test': `lmtp:inet:127.0.0.1:${listeners.address('lmtp')!.port}`,
        'billing@desk.test': `smtp:[127.0.0.1]:${listeners.address('smtp')!.port}`,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await postfix?.stop();
    await t?.close();
  }, 30_000);

  const stored = (messageId: string) =>
    sql<{ source: string }>(t, 'SELECT source FROM inbound_mail WHERE message_id = $1', [messageId]);

  it('delivers over LMTP and relays over SMTP, each mail stored once', async () => {
    const lmtpId = `pf-lmtp.${RUN}@customer.test`;
    const smtpId = `pf-smtp.${RUN}@customer.test`;
    await postfix.send({
      from: 'ann@customer.test',
      to: ['support@desk.test'],
      raw: rawMail({ from: 'ann@customer.test', subject: 'over LMTP', messageId: lmtpId }),
    });
    await postfix.send({
      from: 'ann@customer.test',
      to: ['billing@desk.test'],
      raw: rawMail({ from: 'ann@customer.test', subject: 'over SMTP', messageId: smtpId }),
    });
    await postfix.waitForQueue((q) => q.length === 0);
    await expect(stored(lmtpId)).resolves.toEqual([{ source: 'lmtp' }]);
    await expect(stored(smtpId)).resolves.toEqual([{ source: 'smtp' }]);
    expect(postfix.log()).toMatch(/relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent/);
  }, 60_000);

  it('keeps the mail deferred while the database is down and delivers it once it is back, once', async () => {
    const name = new URL(t.db.url).pathname.slice(1);
    const admin = new Client({ connectionString: t.db.url.replace(`/${name}`, '/postgres') });
    await admin.connect();
    const ids = [`pf-down-lmtp.${RUN}@customer.test`, `pf-down-smtp.${RUN}@customer.test`];
    try {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
      for (const [i, to] of ['support@desk.test', 'billing@desk.test'].entries()) {
        await postfix.send({
          from: 'bo@customer.test',
          to: [to],
          raw: rawMail({ from: 'bo@customer.test', subject: `while down ${i}`, messageId: ids[i] }),
        });
      }
      const deferred = await postfix.waitForQueue(
        (q) => q.filter((m) => m.queue_name === 'deferred').length === 2,
        60_000,
      );
      for (const m of deferred) expect(m.recipients[0].delay_reason).toMatch(/451 4\.3\.0/);
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await postfix.flush();
      await postfix.waitForQueue((q) => q.length === 0, 60_000);
      await waitFor(async () => (await stored(ids[0])).length === 1 && (await stored(ids[1])).length === 1, 20_000);
      // Postfix tried each mail several times meanwhile; each is stored once.
      await expect(stored(ids[0])).resolves.toEqual([{ source: 'lmtp' }]);
      await expect(stored(ids[1])).resolves.toEqual([{ source: 'smtp' }]);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
  }, 120_000);
});
