import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess, freePort, startAppProcess } from '../setup/app-process';
import { createTestDatabase, TestDatabase } from '../setup/database';
import { rawMail } from '../setup/mail';

const SECRETS = {
  smtp: 'SMTPSECRETpw1',
  imap: 'IMAPSECRETpw2',
  db: 'DBSECRETpw3',
  inbound: 'INBOUNDSECRETtoken-0123456789',
  admin: 'ADMINSECRETpw4',
  jwt: 'JWTSECRETkey-0123456789abcdef',
  operator: 'OPERATORSECRETpw5',
  wrong: 'WRONGSECRETguess6',
  wrongToken: 'WRONGTOKENSECRET-0123456789',
};

async function waitFor(what: string, fn: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('secrets never reach logs or error answers', () => {
  let db: TestDatabase;
  let app: AppProcess | undefined;
  let dataDir: string;
  const answers: string[] = [];

  beforeAll(() => {
    if (!fs.existsSync('dist/src/main.js'))
      execFileSync('npx', ['nest', 'build'], { stdio: 'ignore', timeout: 120_000 });
  }, 130_000);

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-secrets-'));
  });

  afterAll(async () => {
    if (app && app.proc.exitCode === null) await app.stop();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a full session with credentials everywhere and prints none of them', async () => {
    if (db.embedded) {
      console.warn('secrets test needs the PostgreSQL server (it puts a password in DATABASE_URL): skipped');
      return;
    }
    const dbUrl = new URL(db.url);
    dbUrl.password = SECRETS.db; // the local server trusts, so the password is accepted and ignored
    const [smtpPort, imapPort] = [await freePort(), await freePort()];
    app = await startAppProcess({
      DATABASE_URL: dbUrl.toString(),
      SMTP_URL: `smtp://mailer:${SECRETS.smtp}@127.0.0.1:${smtpPort}`,
      IMAP_URL: `imap://reader:${SECRETS.imap}@127.0.0.1:${imapPort}/INBOX`,
      IMAP_POLL_SECONDS: '1',
      INBOUND_TOKEN: SECRETS.inbound,
      ADMIN_EMAIL: 'admin@desk.test',
      ADMIN_PASSWORD: SECRETS.admin,
      JWT_SECRET: SECRETS.jwt,
      DATA_DIR: dataDir,
      SUPPORT_ADDRESS: 'support@desk.test',
      OUTBOX_POLL_MS: '100',
      OUTBOX_RETRY_BASE_MS: '50',
      OUTBOX_MAX_ATTEMPTS: '2',
      SMTP_CONNECTION_TIMEOUT_MS: '500',
      LOG_LEVEL: 'verbose',
    });
    const call = async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(app!.base + p, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      // What the server answered (the token a successful login hands out is the one expected secret).
      const shown = res.status === 200 && p === '/auth/login' ? text.replace(/"accessToken":"[^"]+"/, '') : text;
      answers.push(`${res.status} ${JSON.stringify(Object.fromEntries(res.headers))} ${shown}`);
      return { status: res.status, json: () => JSON.parse(text) };
    };

    expect((await call('POST', '/auth/login', { email: 'admin@desk.test', password: SECRETS.wrong })).status).toBe(401);
    const login = await call('POST', '/auth/login', { email: 'admin@desk.test', password: SECRETS.admin });
    expect(login.status).toBe(200);
    const token = login.json().accessToken as string;
    const auth = { authorization: `Bearer ${token}` };
    expect(
      (
        await call(
          'POST',
          '/operators',
          { name: 'Op', email: 'op@desk.test', password: SECRETS.operator, role: 'operator' },
          auth,
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await call(
          'POST',
          '/operators',
          { name: 'Op', email: 'op@desk.test', password: SECRETS.operator, role: 'operator' },
          auth,
        )
      ).status,
    ).toBe(409);
    expect((await call('POST', '/auth/login', { email: 'op@desk.test', password: SECRETS.operator })).status).toBe(200);
    expect(
      (await call('POST', '/inbound/mail', { raw: 'eA==' }, { authorization: `Bearer ${SECRETS.wrongToken}` })).status,
    ).toBe(401);
    expect((await call('POST', `/inbound/mail?token=${SECRETS.wrongToken}`, { raw: 'eA==' })).status).toBe(401);
    const mail = rawMail({ from: 'alice@example.com', subject: 'Help', messageId: 'secrets-1@example.com' });
    const ingested = await call(
      'POST',
      '/inbound/mail',
      { raw: mail.toString('base64') },
      { authorization: `Bearer ${SECRETS.inbound}` },
    );
    expect(ingested.status).toBe(200);
    expect((await call('POST', `/inbound/mail?token=${SECRETS.inbound}`, { raw: 'not base64 !' })).status).toBe(400);
    expect((await call('GET', '/requests?q=%00', undefined, auth)).status).toBe(400);

    // The auto-reply fails on the closed SMTP port until it is marked failed; the IMAP poller fails to connect.
    await waitFor('the SMTP failure', () => /outbox #\d+ to .* failed after/.test(app!.output()));
    await waitFor('the IMAP failure', () => /IMAP .*retrying/.test(app!.output()));
    const failed = await call('GET', '/outbox?status=failed', undefined, auth);
    expect(failed.json().total).toBe(1);
    await call('GET', `/requests/${ingested.json().results[0].requestId}/messages`, undefined, auth);
    await call('GET', '/health/ready');
    expect(await app.stop()).toBe(0);

    const everything = app.output() + '\n' + answers.join('\n');
    const leaked = [...Object.entries(SECRETS), ['accessToken', token]]
      .flatMap(([k, v]) => [
        app!.output().includes(v) ? `${k} in the log` : '',
        answers.join('\n').includes(v) ? `${k} in an answer` : '',
      ])
      .filter(Boolean);
    expect(leaked).toEqual([]);
    expect(app.output()).toMatch(/created admin admin@desk.test with the password from ADMIN_PASSWORD/);
    // Nor any URL with credentials in it.
    expect(everything).not.toMatch(/(smtp|imap|postgres(ql)?):\/\/[^\s/@]+:[^\s/@]+@/);
  }, 90_000);
});
