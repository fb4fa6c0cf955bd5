import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess, freePort, startAppProcess } from '../setup/app-process';
import { createTestDatabase, TestDatabase } from '../setup/database';
import { rawMail, waitFor } from '../setup/dovecot';
import { PIPE_DOMAIN, postfixAvailable, startPostfix, TestPostfix } from '../setup/postfix';

// `maildesk mailgate` (the built CLI) against the built app, then as the `pipe` transport of a real
// Postfix: stored mail exits 0, an unreachable desk 75 (Postfix keeps the mail deferred and delivers
// it once the desk is back, exactly once), wrong usage 64.

const TOKEN = 'mailgate-inbound-token-0123456789';
const CLI = path.resolve('dist/src/cli.js');

interface GateRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/src/cli.js mailgate ...args` with `input` on stdin and only `env` of the server's variables. */
function mailgate(args: string[], input: string | Buffer, env: Record<string, string> = {}): Promise<GateRun> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(DATABASE_URL|INBOUND_|PUBLIC_URL$|PORT$|DATA_DIR$|NODE_OPTIONS$)/.test(k) && k !== 'JEST_WORKER_ID',
    ),
  );
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, 'mailgate', ...args],
      { env: { ...clean, ...env }, timeout: 60_000, cwd: os.tmpdir() },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

let db: TestDatabase;
let dataDir: string;
let app: AppProcess;
let port: number;

function startApp(): Promise<AppProcess> {
  return startAppProcess({
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    INBOUND_TOKEN: TOKEN,
    JWT_SECRET: 'mailgate-jwt-secret-0123456789abcdef',
    SUPPORT_ADDRESS: 'support@desk.test',
    WEBHOOK_RATE_LIMIT: '0',
    PORT: String(port),
  });
}

/** How many messages carry this Message-ID (without angle brackets). */
async function stored(messageId: string): Promise<number> {
  const rows: Array<{ n: number }> = await db.dataSource.query(
    'SELECT count(*)::int AS n FROM messages WHERE message_id = $1',
    [messageId],
  );
  return rows[0].n;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-mailgate-'));
  port = await freePort();
  app = await startApp();
}, 90_000);

afterAll(async () => {
  await app?.stop();
  await db?.drop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe('maildesk mailgate', () => {
  it('exits 0 and prints nothing once the desk stored the mail, and 0 again for the same mail', async () => {
    const raw = rawMail({ from: 'alice@customer.test', subject: 'Printer', messageId: 'gate-1@customer.test' });
    const first = await mailgate(['--url', app.base, '--token', TOKEN], raw);
    expect(first).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await stored('gate-1@customer.test')).toBe(1);
    const again = await mailgate(['--url', app.base, '--token', TOKEN], raw);
    expect(again).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await stored('gate-1@customer.test')).toBe(1);
  }, 60_000);

  it("uses the server's environment without --url and --token", async () => {
    const raw = rawMail({ from: 'bob@customer.test', subject: 'Scanner', messageId: 'gate-env@customer.test' });
    const run = await mailgate([], raw, { PORT: String(port), INBOUND_TOKEN: TOKEN, DATA_DIR: dataDir });
    expect(run).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await stored('gate-env@customer.test')).toBe(1);
  }, 60_000);

  it('exits 75 with one line when the desk is unreachable or refuses the token', async () => {
    const raw = rawMail({ from: 'carol@customer.test', subject: 'Down', messageId: 'gate-down@customer.test' });
    const down = await mailgate(['--url', `http://127.0.0.1:${await freePort()}`, '--token', TOKEN], raw);
    expect(down.code).toBe(75);
    expect(down.stderr).toMatch(/^maildesk mailgate: .*unreachable.*\n$/);
    const wrong = await mailgate(['--url', app.base, '--token', 'not-the-token-0123456789'], raw);
    expect(wrong.code).toBe(75);
    expect(wrong.stderr).toMatch(/^maildesk mailgate: .*answered 401.*\n$/);
    expect(wrong.stderr).not.toContain('not-the-token');
    expect(await stored('gate-down@customer.test')).toBe(0);
  }, 60_000);

  it('exits 64 on wrong usage and on empty input, 65 for a mail over INBOUND_MAX_BYTES', async () => {
    const raw = rawMail({ from: 'dan@customer.test', subject: 'Usage', messageId: 'gate-usage@customer.test' });
    expect((await mailgate(['--url', app.base, '--token', TOKEN, '--bogus', 'x'], raw)).code).toBe(64);
    expect((await mailgate(['--url', 'ftp://desk', '--token', TOKEN], raw)).code).toBe(64);
    expect((await mailgate(['--url', app.base, '--token', TOKEN, '--timeout', '0'], raw)).code).toBe(64);
    expect((await mailgate(['--url', app.base, '--token', TOKEN], '')).code).toBe(64);
    const big = await mailgate(['--url', app.base, '--token', TOKEN], raw + 'x'.repeat(2048), {
      INBOUND_MAX_BYTES: '1024',
    });
    expect(big.code).toBe(65);
    expect(await stored('gate-usage@customer.test')).toBe(0);
  }, 60_000);
});

(postfixAvailable() ? describe : describe.skip)("mailgate as Postfix's pipe transport", () => {
  let postfix: TestPostfix;

  beforeAll(async () => {
    postfix = await startPostfix({
      pipe: {
        argv: [
          process.execPath,
          CLI,
          'mailgate',
          '--url',
          app.base,
          '--token',
          TOKEN,
          '--timeout',
          '30',
          '--recipient',
          '$' + '{recipient}',
        ],
      },
    });
  }, 60_000);

  afterAll(async () => {
    await postfix?.stop();
  }, 30_000);

  it('delivers a mail Postfix received over SMTP into the desk', async () => {
    const raw = rawMail({ from: 'erin@customer.test', subject: 'Via Postfix', messageId: 'pf-1@customer.test' });
    await postfix.send({ from: 'erin@customer.test', to: [`support@${PIPE_DOMAIN}`], raw });
    await waitFor('the mail in the desk', async () => (await stored('pf-1@customer.test')) === 1, 30_000);
    await postfix.waitForQueue((q) => q.length === 0);
    expect(postfix.log()).toMatch(/relay=mailgate, .*status=sent/);
  }, 60_000);

  it('keeps the mail deferred while the desk is down and delivers it once it is back, exactly once', async () => {
    expect(await app.stop()).toBe(0);
    const raw = rawMail({ from: 'frank@customer.test', subject: 'While down', messageId: 'pf-down@customer.test' });
    await postfix.send({ from: 'frank@customer.test', to: [`support@${PIPE_DOMAIN}`], raw });
    const deferred = await postfix.waitForQueue((q) => q.some((m) => m.queue_name === 'deferred'));
    expect(deferred[0].recipients[0].delay_reason).toMatch(/unreachable/);
    expect(postfix.log()).toMatch(/relay=mailgate, .*dsn=4\.3\.0, status=deferred/);
    app = await startApp();
    await postfix.flush();
    await waitFor('the deferred mail in the desk', async () => (await stored('pf-down@customer.test')) === 1, 30_000);
    await postfix.waitForQueue((q) => q.length === 0);
    // Postfix retried more than once meanwhile; one copy all the same.
    expect(await stored('pf-down@customer.test')).toBe(1);
  }, 120_000);
});
