import type { ImapFlow } from 'imapflow';
import { createTestApp, type TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { dovecotAvailable, rawMail, startDovecot, waitFor, type TestDovecot } from '../setup/dovecot';
import { OAUTH2_TEST_USER, startOauth2Server, type TestOauth2Server } from '../setup/oauth2-server';
import { Xoauth2Smtp } from '../setup/xoauth2-smtp';

const PUBLIC_URL = 'http://desk.test';
const CALLBACK = `${PUBLIC_URL}/oauth2/callback`;
const ADDRESS = 'oauth@desk.test';

/**
 * Issue 18's OAuth2 acceptance, every part real: oidc-provider issues the tokens through its own
 * login and consent pages, Dovecot (oauth2 passdb) and an smtp-server accept XOAUTH2 only after
 * asking its introspection endpoint. The app polls the mailbox and sends through its SMTP with the
 * token; the grant is revoked; the mailbox turns `needs_reauthorization` (health, metrics, webhook
 * event), polling stops and the operator's reply waits in the outbox; after re-authorizing,
 * polling resumes from its cursor (nothing lost, nothing twice) and the waiting reply is sent.
 */
forEachDatabase('OAuth2 mailbox: mail in and out, revocation, re-authorization', (kind) => {
  let provider: TestOauth2Server;
  let dovecot: TestDovecot;
  let smtp: Xoauth2Smtp;
  let t: TestApp;
  let admin: string;
  let mailboxId: number;
  let customer: ImapFlow;

  const api = (method: 'get' | 'post', path: string) => t.http()[method](path).set('Authorization', `Bearer ${admin}`);
  const mailbox = async () =>
    (await api('get', `/mailboxes/${mailboxId}`)).body as { state: string; lastError: string | null };
  const requestsOf = async () =>
    (await api('get', `/requests?mailboxId=${mailboxId}`)).body.items as Array<{ id: number; subject: string }>;
  const inboundCount = async () =>
    Number((await t.db.dataSource.query('SELECT count(*)::int AS n FROM inbound_mail'))[0].n);

  async function authorizeInBrowser(): Promise<void> {
    const start = await t
      .http()
      .get(`/mailboxes/${mailboxId}/oauth2/authorize?access_token=${encodeURIComponent(admin)}`);
    expect(start.status).toBe(302);
    const back = await provider.authorize(start.headers.location, OAUTH2_TEST_USER);
    const done = await t.http().get(`${back.pathname}${back.search}`);
    expect(done.status).toBe(200);
  }

  beforeAll(async () => {
    if (!dovecotAvailable()) return;
    // Short-lived access tokens: the app refreshes often, so it meets the revocation on its own.
    provider = await startOauth2Server({ redirectUris: [CALLBACK], accessTokenTtl: 5 });
    const oauth2 = { introspectionUrl: provider.introspectionUrl, ...provider.introspectionClient };
    dovecot = await startDovecot({ oauth2 });
    smtp = await Xoauth2Smtp.start(oauth2);
    t = await createTestApp(
      { PUBLIC_URL, IMAP_IDLE: 'true', IMAP_POLL_SECONDS: '1', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' },
      kind,
    );
    admin = await t.adminToken();
    const hook = await api('post', '/webhooks').send({
      url: 'http://127.0.0.1:9/hook',
      events: ['mailbox.needs_reauthorization'],
    });
    expect(hook.status).toBe(201);
    const created = await api('post', '/mailboxes').send({
      name: 'OAuth Support',
      address: ADDRESS,
      imapUrl: `imap://${encodeURIComponent(OAUTH2_TEST_USER)}@127.0.0.1:${dovecot.port}/INBOX`,
      smtpUrl: smtp.url(OAUTH2_TEST_USER),
      oauth2: {
        provider: 'generic',
        clientId: provider.client.clientId,
        clientSecret: provider.client.clientSecret,
        authorizeUrl: provider.authorizeUrl,
        tokenUrl: provider.tokenUrl,
        scopes: provider.scopes,
      },
    });
    expect(created.status).toBe(201);
    mailboxId = created.body.id as number;
    customer = await dovecot.client(OAUTH2_TEST_USER); // the test's own APPENDs, by password
  }, 120_000);

  afterAll(async () => {
    await customer?.logout().catch(() => undefined);
    await t?.close();
    await smtp?.stop();
    await dovecot?.stop();
    await provider?.close();
  });

  it('polls nothing until authorized, then imports over XOAUTH2 and answers through the XOAUTH2 SMTP', async () => {
    await expect(mailbox()).resolves.toMatchObject({ state: 'needs_reauthorization' });
    await customer.append(
      'INBOX',
      rawMail({
        from: 'ann@customer.test',
        to: ADDRESS,
        subject: 'First question',
        messageId: `first-${kind}@customer.test`,
      }),
    );
    await new Promise((r) => setTimeout(r, 2000));
    await expect(requestsOf()).resolves.toHaveLength(0);

    await authorizeInBrowser();
    await expect(mailbox()).resolves.toMatchObject({ state: 'active' });
    const [request] = await waitFor(
      'the request of the first mail',
      async () => {
        const items = await requestsOf();
        return items.length ? items : null;
      },
      30_000,
    );
    expect(request.subject).toBe('First question');
    const [reply] = await smtp.waitFor(1);
    expect(reply.user).toBe(OAUTH2_TEST_USER);
    expect(reply.envelope.from).toBe(ADDRESS);
    expect(reply.parsed.from?.value[0].address).toBe(ADDRESS);
    expect(smtp.logins.some((l) => l.accepted)).toBe(true);
  }, 60_000);

  it('turns needs_reauthorization when the grant is revoked: polling stops, the reply waits, health, metrics and the webhook say so', async () => {
    const [request] = await requestsOf();
    await expect(provider.revokeAccount()).resolves.toBeGreaterThanOrEqual(1);
    const sent = smtp.mails.length;
    await waitFor('needs_reauthorization', async () => (await mailbox()).state === 'needs_reauthorization', 60_000);
    const health = await t.http().get('/health/ready');
    expect(JSON.stringify(health.body)).toContain('needs_reauthorization');
    const metrics = await t.http().get('/metrics').set('Authorization', `Bearer ${admin}`);
    expect(metrics.text).toMatch(
      new RegExp(`maildesk_mailbox_state\\{[^}]*mailbox_id="${mailboxId}"[^}]*state="needs_reauthorization"[^}]*\\} 1`),
    );
    const events: Array<{ event: string }> = await t.db.dataSource.query('SELECT event FROM webhook_deliveries');
    // An operator answers meanwhile: the mail is accepted and waits for the mailbox.
    const answer = await api('post', `/requests/${request.id}/messages`).send({ text: 'Here is what to do.' });
    expect(answer.status).toBe(201);
    expect(events.map((e) => e.event)).toContain('mailbox.needs_reauthorization');

    // Polling has stopped: a mail arriving now is not imported yet.
    await new Promise((r) => setTimeout(r, 3000));
    const before = await inboundCount();
    await customer.append(
      'INBOX',
      rawMail({
        from: 'bob@customer.test',
        to: ADDRESS,
        subject: 'Second question',
        messageId: `second-${kind}@customer.test`,
      }),
    );
    await new Promise((r) => setTimeout(r, 3000));
    await expect(inboundCount()).resolves.toBe(before);

    // The reply waits: neither sent nor failed.
    const rows: Array<{ status: string }> = await t.db.dataSource.query(
      `SELECT status FROM outbox WHERE mailbox_id = $1 AND subject LIKE '%First question%' ORDER BY id`,
      [mailboxId],
    );
    expect(rows.map((r) => r.status)).toEqual(['sent', 'pending']);
    expect(smtp.mails.length).toBe(sent);
  }, 120_000);

  it('resumes after re-authorizing: the waiting mail is imported once and the waiting reply sent', async () => {
    const sent = smtp.mails.length;
    await authorizeInBrowser();
    await expect(mailbox()).resolves.toMatchObject({ state: 'active', lastError: null });
    await waitFor('the second request', async () => (await requestsOf()).length === 2, 30_000);
    const replies = await smtp.waitFor(sent + 2, 30_000); // the reply that waited + the second auto-reply
    expect(replies.map((m) => m.parsed.text ?? '').join('\n')).toContain('Here is what to do.');
    await expect(inboundCount()).resolves.toBe(2);
    const subjects = (await requestsOf()).map((r) => r.subject).sort();
    expect(subjects).toEqual(['First question', 'Second question']);
  }, 90_000);
});
