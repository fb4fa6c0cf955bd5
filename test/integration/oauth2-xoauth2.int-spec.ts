import { ImapFlow } from 'imapflow';
import * as nodemailer from 'nodemailer';
import { dovecotAvailable, startDovecot, SUPPORT_PASSWORD, SUPPORT_USER, type TestDovecot } from '../setup/dovecot';
import { startOauth2Server, type TestOauth2Server } from '../setup/oauth2-server';
import { Xoauth2Smtp } from '../setup/xoauth2-smtp';

const describeImap = dovecotAvailable() ? describe : describe.skip;

/** Logs in to the Dovecot with `auth`; resolves true when the login succeeded. */
async function imapLogin(
  dovecot: TestDovecot,
  auth: { user: string; accessToken?: string; pass?: string },
): Promise<boolean> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, auth, logger: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.logout();
    return true;
  } catch {
    client.close();
    return false;
  }
}

/**
 * The servers' side of OAuth2 with real parts: tokens from oidc-provider, validated by Dovecot's
 * `oauth2` passdb and by the XOAUTH2 smtp-server at the provider's introspection endpoint.
 */
describeImap('XOAUTH2 against the real servers', () => {
  let provider: TestOauth2Server;
  let dovecot: TestDovecot;
  let smtp: Xoauth2Smtp;

  beforeAll(async () => {
    provider = await startOauth2Server();
    const oauth2 = { introspectionUrl: provider.introspectionUrl, ...provider.introspectionClient };
    dovecot = await startDovecot({ oauth2 });
    smtp = await Xoauth2Smtp.start(oauth2);
  });
  afterAll(async () => {
    await smtp?.stop();
    await dovecot?.stop();
    await provider?.close();
  });

  // Dovecot delays logins from an address after failures (its auth penalty): the successes first.
  it('logs in to Dovecot with an access token, and with the password as before', async () => {
    const tokens = await provider.tokens(SUPPORT_USER);
    await expect(imapLogin(dovecot, { user: SUPPORT_USER, accessToken: tokens.accessToken })).resolves.toBe(true);
    await expect(imapLogin(dovecot, { user: SUPPORT_USER, pass: SUPPORT_PASSWORD })).resolves.toBe(true);
  });

  it('refuses an access token once its grant is revoked, and a token issued to another user', async () => {
    const tokens = await provider.tokens(SUPPORT_USER);
    await provider.revoke(tokens.refreshToken!, 'refresh_token');
    await expect(imapLogin(dovecot, { user: SUPPORT_USER, accessToken: tokens.accessToken })).resolves.toBe(false);
    const other = await provider.tokens('someone@example.test');
    await expect(imapLogin(dovecot, { user: SUPPORT_USER, accessToken: other.accessToken })).resolves.toBe(false);
  });

  it('sends through the XOAUTH2 smtp-server with a token and is refused with a bad one', async () => {
    const tokens = await provider.tokens(SUPPORT_USER);
    const send = (accessToken: string) =>
      nodemailer
        .createTransport({
          host: '127.0.0.1',
          port: smtp.port,
          secure: false,
          ignoreTLS: true,
          auth: { type: 'OAuth2', user: SUPPORT_USER, accessToken },
        })
        .sendMail({ from: SUPPORT_USER, to: 'customer@example.test', subject: 'xoauth2', text: 'hello' });
    await send(tokens.accessToken);
    await expect(smtp.waitFor(1)).resolves.toHaveLength(1);
    expect(smtp.mails[0]).toMatchObject({ user: SUPPORT_USER, envelope: { to: ['customer@example.test'] } });
    await expect(send('not-a-token')).rejects.toMatchObject({ code: 'EAUTH' });
    expect(smtp.mails).toHaveLength(1);
    // nodemailer tries a refused XOAUTH2 login more than once: none of them is accepted.
    expect(smtp.logins[0].accepted).toBe(true);
    expect(smtp.logins.slice(1).map((l) => l.accepted)).not.toContain(true);
  });
});
