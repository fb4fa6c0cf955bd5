import { redactUrl } from '../../src/logging/logger.module';
import { MailboxUnavailableError, type MailboxRecord } from '../../src/mailboxes/mailbox';
import { ImapFlow } from 'imapflow';
import * as nodemailer from 'nodemailer';
import { MailboxCredentialsService } from '../../src/mailboxes/mailbox-credentials.service';
import { MailboxesRepository } from '../../src/mailboxes/mailboxes.repository';
import { Oauth2TokenService } from '../../src/mailboxes/oauth2/oauth2-token.service';
import { createTestApp, type TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { dovecotAvailable, startDovecot, type TestDovecot } from '../setup/dovecot';
import { Xoauth2Smtp } from '../setup/xoauth2-smtp';
import { OAUTH2_TEST_USER, startOauth2Server, type TestOauth2Server } from '../setup/oauth2-server';

const PUBLIC_URL = 'http://desk.test';
const CALLBACK = `${PUBLIC_URL}/oauth2/callback`;

/**
 * OAuth2 mailboxes end to end with the real authorization server (oidc-provider): an admin
 * authorizes through the provider's own login and consent pages, the tokens are stored sealed,
 * refreshed ahead of expiry and when a server refuses one; a transient outage changes nothing; a
 * revoked grant makes the mailbox `needs_reauthorization` with a webhook event; re-authorizing
 * makes it active again. On both databases: the refresh lock is an advisory lock on PostgreSQL and
 * in-process on the embedded one.
 */
forEachDatabase('OAuth2 mailboxes (authorization code + PKCE against oidc-provider)', (kind) => {
  let provider: TestOauth2Server;
  let t: TestApp;
  let admin: string;
  let mailboxId: number;
  let webhookId: number;
  let tokens: Oauth2TokenService;
  let dovecot: TestDovecot | undefined;
  let smtp: Xoauth2Smtp;

  const mailbox = async (): Promise<MailboxRecord> => (await t.app.get(MailboxesRepository).get(mailboxId))!;
  const row = async (): Promise<Record<string, unknown>> =>
    (await t.db.dataSource.query<Record<string, unknown>[]>('SELECT * FROM mailboxes WHERE id = $1', [mailboxId]))[0];

  /** GET .../authorize as a browser would (the token in the query), then the provider's pages, then the callback. */
  async function authorizeInBrowser(): Promise<{ status: number; text: string }> {
    const start = await t
      .http()
      .get(`/mailboxes/${mailboxId}/oauth2/authorize?access_token=${encodeURIComponent(admin)}`);
    expect(start.status).toBe(302);
    const back = await provider.authorize(start.headers.location, OAUTH2_TEST_USER);
    expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
    const res = await t.http().get(`${back.pathname}${back.search}`);
    return { status: res.status, text: res.text };
  }

  beforeAll(async () => {
    provider = await startOauth2Server({ redirectUris: [CALLBACK], accessTokenTtl: 3 });
    const oauth2 = { introspectionUrl: provider.introspectionUrl, ...provider.introspectionClient };
    if (dovecotAvailable()) dovecot = await startDovecot({ oauth2 });
    smtp = await Xoauth2Smtp.start(oauth2);
    t = await createTestApp({ PUBLIC_URL, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }, kind);
    admin = await t.adminToken();
    const hook = await t
      .http()
      .post('/webhooks')
      .set('Authorization', `Bearer ${admin}`)
      .send({ url: 'http://127.0.0.1:9/hook', events: ['mailbox.needs_reauthorization'] });
    expect(hook.status).toBe(201);
    webhookId = hook.body.id as number;
    const created = await t
      .http()
      .post('/mailboxes')
      .set('Authorization', `Bearer ${admin}`)
      .send({
        name: 'Support (OAuth2)',
        address: 'oauth@desk.test',
        imapUrl: `imap://${encodeURIComponent(OAUTH2_TEST_USER)}@127.0.0.1:${dovecot?.port ?? 1}/INBOX`,
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
    tokens = t.app.get(Oauth2TokenService);
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
    await dovecot?.stop();
    await provider?.close();
  });

  it('sends the admin to the consent page with PKCE S256 and a state; 401 without a token', async () => {
    await expect(t.http().get(`/mailboxes/${mailboxId}/oauth2/authorize`)).resolves.toMatchObject({ status: 401 });
    const res = await t.http().get(`/mailboxes/${mailboxId}/oauth2/authorize`).set('Authorization', `Bearer ${admin}`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location);
    expect(`${location.origin}${location.pathname}`).toBe(provider.authorizeUrl);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: provider.client.clientId,
      redirect_uri: CALLBACK,
      code_challenge_method: 'S256',
      scope: provider.scopes.join(' '),
      login_hint: OAUTH2_TEST_USER,
    });
    expect(location.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('takes the token from the query on this route only, and never logs it', async () => {
    const operator = await t.createOperator({ name: 'Op', email: `op-${kind}@desk.test`, password: 'op-password-1' });
    const asOperator = await t.http().get(`/mailboxes/${mailboxId}/oauth2/authorize?access_token=${operator.token}`);
    expect(asOperator.status).toBe(403);
    const elsewhere = await t.http().get(`/requests?access_token=${admin}`);
    expect(elsewhere.status).toBe(401);
    expect(redactUrl(`/mailboxes/1/oauth2/authorize?access_token=${admin}`)).toBe(
      '/mailboxes/1/oauth2/authorize?access_token=[redacted]',
    );
    expect(redactUrl('/oauth2/callback?code=c0de&state=st4te&iss=x')).toBe(
      '/oauth2/callback?code=[redacted]&state=[redacted]&iss=x',
    );
  });

  it('answers a clear 400 page for an unknown state and for the provider refusing', async () => {
    const unknown = await t.http().get('/oauth2/callback?code=x&state=nope');
    expect(unknown.status).toBe(400);
    expect(unknown.headers['content-type']).toMatch(/text\/html/);
    expect(unknown.text).toContain('unknown, expired or already used');
    const start = await t
      .http()
      .get(`/mailboxes/${mailboxId}/oauth2/authorize`)
      .set('Authorization', `Bearer ${admin}`);
    const state = new URL(start.headers.location).searchParams.get('state')!;
    const denied = await t
      .http()
      .get(`/oauth2/callback?error=access_denied&error_description=${encodeURIComponent('<b>no</b>')}&state=${state}`);
    expect(denied.status).toBe(400);
    expect(denied.text).toContain('access_denied: &lt;b&gt;no&lt;/b&gt;');
  });

  it('stores the tokens sealed after the provider\u2019s login and consent, once per state', async () => {
    const start = await t
      .http()
      .get(`/mailboxes/${mailboxId}/oauth2/authorize`)
      .set('Authorization', `Bearer ${admin}`);
    const back = await provider.authorize(start.headers.location);
    const done = await t.http().get(`${back.pathname}${back.search}`);
    expect(done.status).toBe(200);
    expect(done.text).toContain('oauth@desk.test is connected');
    const again = await t.http().get(`${back.pathname}${back.search}`);
    expect(again.status).toBe(400);

    const stored = await row();
    expect(stored.state).toBe('active');
    expect(stored.oauth2_refresh_secret).toMatch(/^v1\./);
    expect(stored.oauth2_access_secret).toMatch(/^v1\./);
    const access = await tokens.accessToken(await mailbox());
    await expect(provider.introspect(access)).resolves.toMatchObject({ active: true, sub: OAUTH2_TEST_USER });
    const text = JSON.stringify(await row());
    expect(text).not.toContain(access);
    expect(text).not.toContain(provider.client.clientSecret);
  });

  it("hands the mailbox's IMAP and SMTP the same token, which Dovecot and the XOAUTH2 server accept", async () => {
    provider.setAccessTokenTtl(3600);
    const credentials = t.app.get(MailboxCredentialsService);
    const imapLogin = await credentials.login(await mailbox(), 'imap');
    const smtpLogin = await credentials.login(await mailbox(), 'smtp');
    expect(imapLogin).toEqual({ user: OAUTH2_TEST_USER, accessToken: expect.any(String) });
    expect(smtpLogin).toEqual(imapLogin);
    const { accessToken } = smtpLogin as { user: string; accessToken: string };
    await nodemailer
      .createTransport({
        host: '127.0.0.1',
        port: smtp.port,
        secure: false,
        ignoreTLS: true,
        auth: { type: 'OAuth2', user: OAUTH2_TEST_USER, accessToken },
      })
      .sendMail({ from: 'oauth@desk.test', to: 'customer@example.test', subject: 'hello', text: 'hello' });
    await expect(smtp.waitFor(1)).resolves.toHaveLength(1);
    if (dovecot) {
      const client = new ImapFlow({
        host: '127.0.0.1',
        port: dovecot.port,
        secure: false,
        auth: { user: OAUTH2_TEST_USER, accessToken },
        logger: false,
      });
      client.on('error', () => undefined);
      await client.connect();
      await client.logout();
    }
    provider.setAccessTokenTtl(3);
    // The next test starts from a short-lived token.
    await tokens.invalidate(await mailbox(), new Error('expire it'));
  });

  it('refreshes ahead of expiry, stores the rotated refresh token, and shares the token meanwhile', async () => {
    const first = await tokens.accessToken(await mailbox());
    await expect(tokens.accessToken(await mailbox())).resolves.toBe(first);
    const refreshSecret = (await row()).oauth2_refresh_secret;
    const refreshes = provider.refreshCount;
    await new Promise((r) => setTimeout(r, 3100));
    const second = await tokens.accessToken(await mailbox());
    expect(second).not.toBe(first);
    expect(provider.refreshCount).toBe(refreshes + 1);
    expect((await row()).oauth2_refresh_secret).not.toBe(refreshSecret);
    await expect(provider.introspect(second)).resolves.toMatchObject({ active: true });
  });

  it('refreshes when a server refused the token (invalidate)', async () => {
    provider.setAccessTokenTtl(3600);
    const before = await tokens.accessToken(await mailbox());
    await tokens.invalidate(await mailbox(), new Error('AUTHENTICATIONFAILED'));
    const after = await tokens.accessToken(await mailbox());
    expect(after).not.toBe(before);
    expect((await mailbox()).state).toBe('active');
  });

  it('keeps the state through a provider outage and recovers when it is back', async () => {
    await provider.stop();
    try {
      await tokens.invalidate(await mailbox(), new Error('refused'));
      await expect(tokens.accessToken(await mailbox())).rejects.toThrow(/failed for now/);
      expect((await mailbox()).state).toBe('active');
    } finally {
      await provider.start();
    }
    await expect(tokens.accessToken(await mailbox())).resolves.toEqual(expect.any(String));
  });

  it('marks the mailbox needs_reauthorization when the grant is revoked, with a webhook event', async () => {
    await expect(provider.revokeAccount()).resolves.toBeGreaterThanOrEqual(1);
    await tokens.invalidate(await mailbox(), new Error('AUTHENTICATIONFAILED'));
    const after = await mailbox();
    expect(after.state).toBe('needs_reauthorization');
    await expect(tokens.accessToken(after)).rejects.toBeInstanceOf(MailboxUnavailableError);
    const list = await t.http().get('/mailboxes').set('Authorization', `Bearer ${admin}`);
    expect(list.status).toBe(200);
    const shown = (list.body.items as Array<{ id: number; state: string; lastError: string | null }>).find(
      (m) => m.id === mailboxId,
    );
    expect(shown).toMatchObject({
      state: 'needs_reauthorization',
      lastError: expect.stringContaining('invalid_grant'),
    });
    expect(JSON.stringify(list.body)).not.toMatch(/v1\.[A-Za-z0-9_-]+\./);
    const deliveries = await t.http().get(`/webhooks/${webhookId}/deliveries`).set('Authorization', `Bearer ${admin}`);
    expect(deliveries.status).toBe(200);
    expect(JSON.stringify(deliveries.body)).toContain('mailbox.needs_reauthorization');
  });

  it('is active again after re-authorizing', async () => {
    await expect(authorizeInBrowser()).resolves.toMatchObject({ status: 200 });
    const again = await mailbox();
    expect(again.state).toBe('active');
    const access = await tokens.accessToken(again);
    await expect(provider.introspect(access)).resolves.toMatchObject({ active: true });
  });
});
