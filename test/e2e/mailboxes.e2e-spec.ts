import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MailboxCredentialsService } from '../../src/mailboxes/mailbox-credentials.service';
import { MailboxDirectoryService } from '../../src/mailboxes/mailbox-directory.service';
import { MailboxUnavailableError } from '../../src/mailboxes/mailbox';
import { createTestApp, TestApp } from '../setup/app';
import { AppProcess, startAppProcess } from '../setup/app-process';
import { createTestDatabase, TestDatabase } from '../setup/database';

/** Every secret the tests write: none may come back in an answer or a log line. */
const SECRETS = {
  imap: 'IMAPpw-Secret-1',
  smtp: 'SMTPpw-Secret-2',
  client: 'CLIENTsecret-3',
  envSmtp: 'ENVsmtp-Secret-4',
  newImap: 'IMAPpw-Secret-5',
};

const SUPPORT_SMTP = `smtp://mailer:${SECRETS.envSmtp}@127.0.0.1:9`;

describe('mailboxes API (admins)', () => {
  let t: TestApp;
  let admin: string;
  let operator: string;
  const answers: string[] = [];

  const auth = (token = admin) => ({ Authorization: `Bearer ${token}` });
  /** Every call goes through here, so its answer is kept for the leak check. */
  async function call(method: 'get' | 'post' | 'patch' | 'delete', p: string, body?: unknown, token = admin) {
    let req = t.http()[method](p).set(auth(token));
    if (body !== undefined) req = req.send(body as object);
    const res = await req;
    answers.push(res.text);
    return res;
  }

  const billing = {
    name: 'Billing',
    address: 'Billing@Desk.test',
    aliases: ['invoices@desk.test'],
    signature: '-- \nThe billing team',
    imapUrl: `imaps://billing%40desk.test:${SECRETS.imap}@imap.desk.test/INBOX`,
    smtpUrl: `smtps://billing%40desk.test:${SECRETS.smtp}@smtp.desk.test`,
  };

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_RATE_LIMIT: '1000', SMTP_URL: SUPPORT_SMTP, SUPPORT_NAME: 'Desk' });
    admin = await t.adminToken();
    operator = (await t.createOperator({ name: 'Op', email: 'op@desk.test', password: 'op-password-1' })).token;
  });

  afterAll(async () => {
    await t?.close();
  });

  it('lists the default mailbox with its id, its SMTP_URL without the password', async () => {
    const res = await call('get', '/mailboxes');
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    const [def] = res.body.items;
    expect(def).toMatchObject({
      id: expect.any(Number),
      name: 'Desk',
      address: 'support@desk.test',
      aliases: [],
      isDefault: true,
      imap: null,
      smtp: { url: 'smtp://mailer@127.0.0.1:9', auth: 'password' },
      oauth2: null,
      state: 'active',
    });
    expect((await call('get', `/mailboxes/${def.id}`)).body).toEqual(def);
  });

  it('creates a mailbox: 201, addresses lower-cased, passwords taken out of the URLs and stored sealed', async () => {
    const res = await call('post', '/mailboxes', billing);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Billing',
      address: 'billing@desk.test',
      aliases: ['invoices@desk.test'],
      groupId: null,
      signature: '-- \nThe billing team',
      isDefault: false,
      imap: { url: 'imaps://billing%40desk.test@imap.desk.test/INBOX', auth: 'password' },
      smtp: { url: 'smtps://billing%40desk.test@smtp.desk.test', auth: 'password' },
      oauth2: null,
      state: 'active',
      lastError: null,
      lastSuccessAt: null,
      backlog: null,
    });
    const [row] = await t.db.dataSource.query('SELECT * FROM mailboxes WHERE id = $1', [res.body.id]);
    expect(row.imap_secret).toMatch(/^v1\./);
    expect(row.smtp_secret).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(SECRETS.imap);
    // The credentials service opens them again, with the URL's user.
    const record = await t.app.get(MailboxDirectoryService).get(res.body.id);
    const credentials = t.app.get(MailboxCredentialsService);
    expect(await credentials.login(record!, 'imap')).toEqual({ user: 'billing@desk.test', pass: SECRETS.imap });
    expect(await credentials.login(record!, 'smtp')).toEqual({ user: 'billing@desk.test', pass: SECRETS.smtp });
    const def = await t.app.get(MailboxDirectoryService).defaultMailbox();
    expect(await credentials.login(def, 'smtp')).toEqual({ user: 'mailer', pass: SECRETS.envSmtp });
    expect(await credentials.login(def, 'imap')).toBeNull();
    // The directory routes its addresses at once.
    const directory = t.app.get(MailboxDirectoryService);
    expect((await directory.forRecipients(['INVOICES@desk.test'])).id).toBe(res.body.id);
  });

  it('answers 409 when the address or an alias is any mailbox address or alias', async () => {
    const taken = [
      { name: 'A', address: 'billing@desk.test' },
      { name: 'B', address: 'new@desk.test', aliases: ['Invoices@desk.test'] },
      { name: 'C', address: 'support@desk.test' },
      { name: 'D', address: 'invoices@desk.test' },
    ];
    for (const body of taken) {
      const res = await call('post', '/mailboxes', body);
      expect({ body, status: res.status }).toEqual({ body, status: 409 });
      expect(res.body.message).toMatch(/already a mailbox's address or alias/);
    }
    const [{ n }] = await t.db.dataSource.query('SELECT count(*)::int AS n FROM mailboxes');
    expect(n).toBe(2);
  });

  it('answers 400 for hostile or invalid input, never 500', async () => {
    const bad: unknown[] = [
      {},
      { name: 'x' },
      { address: 'x@desk.test' },
      { name: '', address: 'x@desk.test' },
      { name: 'x'.repeat(201), address: 'x@desk.test' },
      { name: 'line\nbreak', address: 'x@desk.test' },
      { name: 'x', address: 'not-an-address' },
      { name: 'x', address: 'a@b@desk.test' },
      { name: 'x', address: 'x@desk.test', aliases: 'y@desk.test' },
      { name: 'x', address: 'x@desk.test', aliases: ['nope'] },
      { name: 'x', address: 'x@desk.test', aliases: Array.from({ length: 51 }, (_, i) => `a${i}@desk.test`) },
      { name: 'x', address: 'x@desk.test', groupId: 'one' },
      { name: 'x', address: 'x@desk.test', groupId: -1 },
      { name: 'x', address: 'x@desk.test', groupId: 99999 },
      { name: 'x', address: 'x@desk.test', imapUrl: 'http://x:y@imap.desk.test' },
      { name: 'x', address: 'x@desk.test', imapUrl: 'imap://imap.desk.test' },
      { name: 'x', address: 'x@desk.test', imapUrl: 'imap://u@imap.desk.test' },
      { name: 'x', address: 'x@desk.test', imapUrl: 'imap://u:p@imap.desk.test/IN\nBOX' },
      { name: 'x', address: 'x@desk.test', imapUrl: 'imap://u:p@imap.desk.test?x=1' },
      { name: 'x', address: 'x@desk.test', imapUrl: `imap://u:p@${'h'.repeat(2000)}.test` },
      { name: 'x', address: 'x@desk.test', smtpUrl: 'imap://u:p@smtp.desk.test' },
      { name: 'x', address: 'x@desk.test', smtpUrl: 'smtp://u:%zz@smtp.desk.test' },
      { name: 'x', address: 'x@desk.test', signature: 'x'.repeat(10_001) },
      { name: 'x', address: 'x@desk.test', unknown: 1 },
      { name: 'x', address: 'x@desk.test', state: 'active' },
      { name: 'x', address: 'x@desk.test', oauth2: 'google' },
      { name: 'x', address: 'x@desk.test', oauth2: { provider: 'yahoo', clientId: 'c', clientSecret: 's' } },
      { name: 'x', address: 'x@desk.test', oauth2: { provider: 'google', clientId: 'c' } },
      { name: 'x', address: 'x@desk.test', oauth2: { provider: 'google', clientId: 'c', clientSecret: 's', x: 1 } },
      { name: 'x', address: 'x@desk.test', oauth2: { provider: 'generic', clientId: 'c', clientSecret: 's' } },
      {
        name: 'x',
        address: 'x@desk.test',
        oauth2: { provider: 'generic', clientId: 'c', clientSecret: 's', authorizeUrl: 'ftp://a', tokenUrl: 'ftp://b' },
      },
      {
        name: 'x',
        address: 'x@desk.test',
        oauth2: { provider: 'google', clientId: 'c', clientSecret: 's', tenant: 'contoso' },
      },
      {
        name: 'x',
        address: 'x@desk.test',
        oauth2: { provider: 'google', clientId: 'c', clientSecret: 's', scopes: ['a b'] },
      },
      {
        name: 'x',
        address: 'x@desk.test',
        imapUrl: 'imap://u:p@imap.desk.test',
        oauth2: { provider: 'google', clientId: 'c', clientSecret: 's' },
      },
      {
        name: 'x',
        address: 'x@desk.test',
        imapUrl: 'imap://imap.desk.test',
        oauth2: { provider: 'google', clientId: 'c', clientSecret: 's' },
      },
      [1, 2, 3],
    ];
    for (const body of bad) {
      const res = await call('post', '/mailboxes', body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
    expect((await call('get', '/mailboxes/0')).status).toBe(400);
    expect((await call('get', '/mailboxes/abc')).status).toBe(400);
    expect((await call('get', '/mailboxes/99999')).status).toBe(404);
    expect((await call('patch', '/mailboxes/99999', { name: 'x' })).status).toBe(404);
    expect((await call('delete', '/mailboxes/99999')).status).toBe(404);
    const [{ n }] = await t.db.dataSource.query('SELECT count(*)::int AS n FROM mailboxes');
    expect(n).toBe(2);
  });

  it('creates OAuth2 mailboxes: the client secret sealed, never shown; microsoft tenant defaults to common', async () => {
    const google = await call('post', '/mailboxes', {
      name: 'Sales',
      address: 'sales@desk.test',
      imapUrl: 'imaps://sales%40desk.test@imap.gmail.com/INBOX',
      smtpUrl: 'smtps://sales%40desk.test@smtp.gmail.com',
      oauth2: { provider: 'google', clientId: 'client-1', clientSecret: SECRETS.client },
    });
    expect(google.status).toBe(201);
    expect(google.body).toMatchObject({
      imap: { auth: 'oauth2' },
      smtp: { auth: 'oauth2' },
      oauth2: { provider: 'google', clientId: 'client-1', tenant: null, scopes: null, authorized: false },
    });
    const [row] = await t.db.dataSource.query('SELECT oauth2_client_secret FROM mailboxes WHERE id = $1', [
      google.body.id,
    ]);
    expect(row.oauth2_client_secret).toMatch(/^v1\./);
    // No token source in this build of the module: an OAuth2 login is unavailable, not a crash.
    const record = await t.app.get(MailboxDirectoryService).get(google.body.id);
    await expect(t.app.get(MailboxCredentialsService).login(record!, 'imap')).rejects.toBeInstanceOf(
      MailboxUnavailableError,
    );

    const microsoft = await call('post', '/mailboxes', {
      name: 'Office',
      address: 'office@desk.test',
      imapUrl: 'imaps://office%40desk.test@outlook.office365.com/INBOX',
      oauth2: { provider: 'microsoft', clientId: 'client-2', clientSecret: SECRETS.client },
    });
    expect(microsoft.status).toBe(201);
    expect(microsoft.body.oauth2).toMatchObject({ provider: 'microsoft', tenant: 'common' });
    expect(microsoft.body.smtp).toBeNull();

    const generic = await call('post', '/mailboxes', {
      name: 'Other',
      address: 'other@desk.test',
      imapUrl: 'imap://other%40desk.test@127.0.0.1:1143/INBOX',
      oauth2: {
        provider: 'generic',
        clientId: 'client-3',
        clientSecret: SECRETS.client,
        authorizeUrl: 'http://127.0.0.1:9000/auth',
        tokenUrl: 'http://127.0.0.1:9000/token',
        scopes: ['openid', 'offline_access', 'openid'],
      },
    });
    expect(generic.status).toBe(201);
    expect(generic.body.oauth2).toMatchObject({
      authorizeUrl: 'http://127.0.0.1:9000/auth',
      tokenUrl: 'http://127.0.0.1:9000/token',
      scopes: ['openid', 'offline_access'],
    });
    // A change of the client without a new secret keeps the stored one.
    const patched = await call('patch', `/mailboxes/${generic.body.id}`, {
      oauth2: { ...generic.body.oauth2, authorized: undefined, tenant: undefined, scopes: ['openid'] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.oauth2.scopes).toEqual(['openid']);
  });

  it('changes a mailbox: a URL without a password keeps it for the same server only; addresses move', async () => {
    const [, mailbox] = (await call('get', '/mailboxes')).body.items;
    const [before] = await t.db.dataSource.query('SELECT imap_secret, version FROM mailboxes WHERE id = $1', [
      mailbox.id,
    ]);
    // What GET gave, sent back: nothing lost.
    const same = await call('patch', `/mailboxes/${mailbox.id}`, {
      name: 'Billing team',
      imapUrl: mailbox.imap.url,
      smtpUrl: mailbox.smtp.url,
      aliases: ['pay@desk.test'],
    });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ name: 'Billing team', aliases: ['pay@desk.test'] });
    const [after] = await t.db.dataSource.query('SELECT imap_secret, version FROM mailboxes WHERE id = $1', [
      mailbox.id,
    ]);
    expect(after.imap_secret).toBe(before.imap_secret);
    expect(Number(after.version)).toBeGreaterThan(Number(before.version));
    // invoices@ is free again; pay@ is taken.
    expect((await call('post', '/mailboxes', { name: 'I', address: 'invoices@desk.test' })).status).toBe(201);
    expect((await call('post', '/mailboxes', { name: 'P', address: 'pay@desk.test' })).status).toBe(409);
    // Another server: the stored password does not follow.
    const moved = await call('patch', `/mailboxes/${mailbox.id}`, {
      imapUrl: 'imaps://billing%40desk.test@elsewhere.test/INBOX',
    });
    expect(moved.status).toBe(400);
    const withPassword = await call('patch', `/mailboxes/${mailbox.id}`, {
      imapUrl: `imaps://billing%40desk.test:${SECRETS.newImap}@elsewhere.test/INBOX`,
    });
    expect(withPassword.status).toBe(200);
    expect(withPassword.body.imap.url).toBe('imaps://billing%40desk.test@elsewhere.test/INBOX');
    expect((await call('patch', `/mailboxes/${mailbox.id}`, { address: 'support@desk.test' })).status).toBe(409);
    expect((await call('patch', `/mailboxes/${mailbox.id}`, { name: null })).status).toBe(400);
    expect((await call('patch', `/mailboxes/${mailbox.id}`, { state: 'disabled' })).status).toBe(400);
  });

  it('takes a group by id: an existing group, 400 for an unknown one', async () => {
    const [group] = await t.db.dataSource.query(`INSERT INTO groups (name) VALUES ('Finance') RETURNING id`);
    const res = await call('post', '/mailboxes', { name: 'Fin', address: 'fin@desk.test', groupId: group.id });
    expect(res.status).toBe(201);
    expect(res.body.groupId).toBe(group.id);
    const unknown = await call('patch', `/mailboxes/${res.body.id}`, { groupId: group.id + 1000 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/groupId/);
    expect((await call('patch', `/mailboxes/${res.body.id}`, { groupId: null })).body.groupId).toBeNull();
  });

  it("keeps the default mailbox's environment fields: 409 naming the variable; aliases, group and signature change", async () => {
    const def = (await call('get', '/mailboxes')).body.items.find((m: { isDefault: boolean }) => m.isDefault);
    const cases: Array<[object, RegExp]> = [
      [{ address: 'help@desk.test' }, /SUPPORT_ADDRESS/],
      [{ name: 'Help' }, /SUPPORT_NAME/],
      [{ smtpUrl: 'smtp://other@127.0.0.1:25' }, /SMTP_URL/],
      [{ imapUrl: 'imap://u:p@127.0.0.1' }, /IMAP_URL/],
      [{ oauth2: { provider: 'google', clientId: 'c', clientSecret: 's' } }, /IMAP_URL and SMTP_URL/],
    ];
    for (const [body, message] of cases) {
      const res = await call('patch', `/mailboxes/${def.id}`, body);
      expect({ body, status: res.status }).toEqual({ body, status: 409 });
      expect(res.body.message).toMatch(message);
    }
    // The same values (what GET gave) pass.
    const ok = await call('patch', `/mailboxes/${def.id}`, {
      name: def.name,
      address: def.address,
      smtpUrl: def.smtp.url,
      aliases: ['help@desk.test'],
      signature: 'The desk',
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ aliases: ['help@desk.test'], signature: 'The desk', isDefault: true });
    expect((await t.app.get(MailboxDirectoryService).forRecipients(['help@desk.test'])).id).toBe(def.id);
    const deleted = await call('delete', `/mailboxes/${def.id}`);
    expect(deleted.status).toBe(409);
    expect(deleted.body.message).toMatch(/default mailbox cannot be deactivated/);
  });

  it('deactivates a mailbox (kept, addresses reserved, no login) and re-enables it', async () => {
    const res = await call('post', '/mailboxes', { name: 'Temp', address: 'temp@desk.test' });
    const [{ n: requestsBefore }] = await t.db.dataSource.query('SELECT count(*)::int AS n FROM requests');
    const off = await call('delete', `/mailboxes/${res.body.id}`);
    expect(off.status).toBe(200);
    expect(off.body.state).toBe('disabled');
    expect((await call('get', `/mailboxes/${res.body.id}`)).body.state).toBe('disabled');
    expect((await call('post', '/mailboxes', { name: 'T2', address: 'temp@desk.test' })).status).toBe(409);
    const directory = t.app.get(MailboxDirectoryService);
    const record = await directory.get(res.body.id);
    expect(record!.state).toBe('disabled');
    await expect(t.app.get(MailboxCredentialsService).login(record!, 'smtp')).rejects.toBeInstanceOf(
      MailboxUnavailableError,
    );
    expect((await directory.ownAddresses()).has('temp@desk.test')).toBe(true);
    const on = await call('patch', `/mailboxes/${res.body.id}`, { state: 'active' });
    expect(on.status).toBe(200);
    expect(on.body.state).toBe('active');
    const [{ n: requestsAfter }] = await t.db.dataSource.query('SELECT count(*)::int AS n FROM requests');
    expect(requestsAfter).toBe(requestsBefore);
  });

  it('answers 403 to an operator and 401 without a token', async () => {
    const [, mailbox] = (await call('get', '/mailboxes')).body.items;
    expect((await call('get', '/mailboxes', undefined, operator)).status).toBe(403);
    expect((await call('get', `/mailboxes/${mailbox.id}`, undefined, operator)).status).toBe(403);
    expect((await call('post', '/mailboxes', { name: 'x', address: 'op1@desk.test' }, operator)).status).toBe(403);
    expect((await call('patch', `/mailboxes/${mailbox.id}`, { name: 'x' }, operator)).status).toBe(403);
    expect((await call('delete', `/mailboxes/${mailbox.id}`, undefined, operator)).status).toBe(403);
    expect((await t.http().get('/mailboxes')).status).toBe(401);
  });

  it('never answered with a secret', () => {
    const all = answers.join('\n');
    expect(Object.entries(SECRETS).filter(([, v]) => all.includes(v))).toEqual([]);
    // (the error messages' example, imap://user:password@host, is no one's password)
    expect(all).not.toMatch(/(smtps?|imaps?):\/\/(?!user:password@)[^\s/@"]+:[^\s/@"]+@/);
    expect(all).not.toMatch(/"v1\.[A-Za-z0-9_-]{8}\./);
  });
});

describe('mailbox secrets in the log of the built app', () => {
  let db: TestDatabase;
  let app: AppProcess | undefined;
  let dataDir: string;

  beforeAll(() => {
    if (!fs.existsSync('dist/src/main.js'))
      execFileSync('npx', ['nest', 'build'], { stdio: 'ignore', timeout: 120_000 });
  }, 130_000);

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-mailbox-log-'));
  });

  afterAll(async () => {
    if (app && app.proc.exitCode === null) await app.stop();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs no password, client secret or sealed value at the most verbose level', async () => {
    app = await startAppProcess({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      SUPPORT_ADDRESS: 'support@desk.test',
      SMTP_URL: SUPPORT_SMTP,
      ADMIN_EMAIL: 'admin@desk.test',
      ADMIN_PASSWORD: 'admin-password-1',
      JWT_SECRET: 'test-jwt-secret-0123456789abcdef',
      INBOUND_TOKEN: 'test-inbound-token-0123456789',
      LOG_LEVEL: 'verbose',
    });
    const base = app.base;
    const send = async (method: string, p: string, token?: string, body?: unknown) => {
      const res = await fetch(base + p, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const login = await send('POST', '/auth/login', undefined, {
      email: 'admin@desk.test',
      password: 'admin-password-1',
    });
    const token = login.json.accessToken as string;
    const created = await send('POST', '/mailboxes', token, {
      name: 'Billing',
      address: 'billing@desk.test',
      imapUrl: `imap://billing:${SECRETS.imap}@127.0.0.1:1/INBOX`,
      smtpUrl: `smtp://billing:${SECRETS.smtp}@127.0.0.1:1`,
    });
    expect(created.status).toBe(201);
    const oauth = await send('POST', '/mailboxes', token, {
      name: 'Sales',
      address: 'sales@desk.test',
      imapUrl: 'imap://sales@127.0.0.1:1/INBOX',
      oauth2: { provider: 'google', clientId: 'c', clientSecret: SECRETS.client },
    });
    expect(oauth.status).toBe(201);
    // Failing writes log too: a taken address, a bad group, a bad body carrying a secret.
    expect((await send('POST', '/mailboxes', token, { ...created.json, imapUrl: undefined })).status).toBe(400);
    expect(
      (
        await send('POST', '/mailboxes', token, {
          name: 'B2',
          address: 'billing@desk.test',
          imapUrl: `imap://billing:${SECRETS.newImap}@127.0.0.1:1/INBOX`,
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await send('POST', '/mailboxes', token, {
          name: 'B3',
          address: 'b3@desk.test',
          groupId: 4242,
          smtpUrl: `smtp://b3:${SECRETS.newImap}@127.0.0.1:1`,
        })
      ).status,
    ).toBe(400);
    expect((await send('GET', '/mailboxes', token)).status).toBe(200);
    expect(await app.stop()).toBe(0);
    const log = app.output();
    expect(Object.entries(SECRETS).filter(([, v]) => log.includes(v))).toEqual([]);
    expect(log).not.toMatch(/(smtps?|imaps?):\/\/(?!user:password@)[^\s/@"]+:[^\s/@"]+@/);
    expect(log).not.toMatch(/v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\./);
  }, 90_000);
});
