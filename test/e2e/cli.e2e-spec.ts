import * as argon2 from 'argon2';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestDatabase, TestDatabase } from '../setup/database';
import { dovecotAvailable, rawMail, startDovecot, SUPPORT_USER, TestDovecot } from '../setup/dovecot';

const MBOX = path.resolve('test/fixtures/cli/sample.mbox');
const describeImap = dovecotAvailable() ? describe : describe.skip;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

let db: TestDatabase;
let dataDir: string;

/** Runs the built CLI (`node dist/src/cli.js`, what the `maildesk` bin is) against the test database. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(DATABASE_URL|SMTP_|IMAP_|INBOUND_|ADMIN_|JWT_|PORT$|HOST$|DATA_DIR$|SUPPORT_|OUTBOX_|LOG_LEVEL$|NODE_OPTIONS$)/.test(
          k,
        ),
    ),
  );
  const full = {
    ...clean,
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    SUPPORT_ADDRESS: 'support@desk.test',
    JWT_SECRET: 'test-jwt-secret-0123456789abcdef',
    INBOUND_TOKEN: 'test-inbound-token-0123456789',
    NO_COLOR: '1',
    ...env,
  };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['dist/src/cli.js', ...args],
      {
        env: Object.fromEntries(Object.entries(full).filter(([, v]) => v !== undefined)),
        cwd: process.cwd(),
        timeout: 60_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function count(sql: string): Promise<number> {
  const rows: Array<{ n: number }> = await db.dataSource.query(`SELECT (${sql})::int AS n`);
  return rows[0].n;
}

// Each test starts the CLI a few times (a Node process and a Nest context each): slow on a busy machine.
beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-cli-'));
});

afterAll(async () => {
  await db?.drop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('maildesk CLI', () => {
  it('exits 2 with the usage for no command, an unknown command or a bad option', async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('usage: maildesk <command>');
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command frobnicate');
    const missing = await cli(['operator:create', '--email', 'x@desk.test']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--name is required');
    const both = await cli(['quarantine:replay', '3', '--all']);
    expect(both.code).toBe(2);
  }, 120_000);

  it('creates an operator with a generated password that verifies, and refuses a duplicate', async () => {
    const res = await cli(['operator:create', '--email', 'Lead@Desk.test', '--name', 'Team Lead', '--role', 'admin']);
    expect(res).toMatchObject({ code: 0 });
    const password = /password: (\S+)/.exec(res.stdout)?.[1];
    expect(password).toBeDefined();
    const [row] = await db.dataSource.query(
      `SELECT role, password_hash, token_version FROM operators WHERE email = 'lead@desk.test'`,
    );
    expect(row.role).toBe('admin');
    await expect(argon2.verify(row.password_hash, password!)).resolves.toBe(true);
    // The CLI seeds no first admin of its own: the operator it created is the only one.
    await expect(count('SELECT count(*) FROM operators')).resolves.toBe(1);
    const again = await cli(['operator:create', '--email', 'lead@desk.test', '--name', 'Other']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('an operator with the email lead@desk.test exists');
  }, 120_000);

  it('resets a password and bumps token_version; an unknown email exits 1', async () => {
    const before = await db.dataSource.query(`SELECT token_version FROM operators WHERE email = 'lead@desk.test'`);
    const res = await cli(['operator:reset-password', '--email', 'lead@desk.test', '--password', 'a-new-password-42']);
    expect(res).toMatchObject({ code: 0 });
    const [row] = await db.dataSource.query(
      `SELECT password_hash, token_version FROM operators WHERE email = 'lead@desk.test'`,
    );
    expect(row.token_version).toBe(before[0].token_version + 1);
    await expect(argon2.verify(row.password_hash, 'a-new-password-42')).resolves.toBe(true);
    const unknown = await cli(['operator:reset-password', '--email', 'nobody@desk.test']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no operator has the email nobody@desk.test');
    // Both runs are in the audit log as the system's, the password redacted; a list is not.
    await cli(['mailbox:list']);
    const audited: Array<{ actor_role: string; route: string; action: string; data: Record<string, unknown> }> =
      await db.dataSource.query(
        `SELECT actor_role, route, action, data FROM audit_log WHERE action LIKE 'cli.%' ORDER BY id DESC LIMIT 3`,
      );
    expect(audited.slice(0, 2)).toEqual([
      {
        actor_role: 'system',
        route: 'maildesk operator:reset-password',
        action: 'cli.operator_reset_password',
        data: { options: { email: 'nobody@desk.test' }, positional: [], exitCode: 1 },
      },
      {
        actor_role: 'system',
        route: 'maildesk operator:reset-password',
        action: 'cli.operator_reset_password',
        data: { options: { email: 'lead@desk.test', password: '[redacted]' }, positional: [], exitCode: 0 },
      },
    ]);
    expect(JSON.stringify(audited)).not.toContain('a-new-password-42');
  }, 120_000);

  it('imports an mbox as history without auto-replies, and a second run finds only duplicates', async () => {
    const first = await cli(['import:mbox', MBOX]);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('imported 5 mails');
    expect(first.stdout).toContain('created 2, appended 1, duplicate 0, ignored 1, quarantined 1');
    await expect(count('SELECT count(*) FROM requests')).resolves.toBe(2);
    await expect(count(`SELECT count(*) FROM messages WHERE direction = 'in'`)).resolves.toBe(3);
    await expect(
      count(`SELECT count(*) FROM messages WHERE text LIKE '%' || chr(10) || 'From the logs%'`),
    ).resolves.toBe(1);
    await expect(count(`SELECT count(*) FROM inbound_mail WHERE source <> 'cli'`)).resolves.toBe(0);
    await expect(count('SELECT count(*) FROM outbox')).resolves.toBe(0);

    const second = await cli(['import:mbox', MBOX]);
    expect(second).toMatchObject({ code: 0 });
    // The quarantined mail stays quarantined (its attempt counted); everything else is a duplicate.
    expect(second.stdout).toContain('created 0, appended 0, duplicate 4, ignored 0, quarantined 1');
    await expect(count('SELECT count(*) FROM requests')).resolves.toBe(2);
    await expect(count('SELECT count(*) FROM messages')).resolves.toBe(3);
    await expect(count('SELECT count(*) FROM outbox')).resolves.toBe(0);
  }, 120_000);

  it('exits 1 for a missing file or a file that is not an mbox', async () => {
    const missing = await cli(['import:mbox', path.join(dataDir, 'nope.mbox')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read');
    const notMbox = path.join(dataDir, 'mail.eml');
    fs.writeFileSync(notMbox, 'Subject: hi\n\nbody\n');
    const bad = await cli(['import:mbox', notMbox]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not an mbox file');
  }, 120_000);

  it('lists quarantined mail and replays it: still quarantined, then processed once fixed', async () => {
    const list = await cli(['quarantine:list']);
    expect(list).toMatchObject({ code: 0 });
    const [row] = await db.dataSource.query(`SELECT id FROM inbound_mail WHERE status = 'quarantined'`);
    expect(list.stdout).toMatch(
      new RegExp(`^${row.id}\\s.*cli.*"a mail without any From header".*no sender address in From`, 'm'),
    );
    expect(list.stdout).toContain('1-1 of 1 quarantined');

    const still = await cli(['quarantine:replay', String(row.id)]);
    expect(still).toMatchObject({ code: 0 });
    expect(still.stdout).toContain(`${row.id}: quarantined (no sender address in From)`);

    // The "fix": the raw mail gets its From header (as if the parser had learned to read it).
    const raw = fs.readFileSync(MBOX, 'latin1').split(/^From MAILER-DAEMON.*\n/m)[1];
    await db.dataSource.query(`UPDATE inbound_mail SET raw = $2 WHERE id = $1`, [
      row.id,
      Buffer.from(`From: Carol <carol@example.test>\n${raw}`),
    ]);
    const replayed = await cli(['quarantine:replay', '--all']);
    expect(replayed).toMatchObject({ code: 0 });
    expect(replayed.stdout).toMatch(new RegExp(`${row.id}: created request \\d+`));
    expect(replayed.stdout).toContain('replayed 1; 1 processed, 0 still quarantined');
    // A replay is mail received now, not history: the creation auto-reply is queued for the server.
    await expect(count(`SELECT count(*) FROM outbox WHERE to_address = 'carol@example.test'`)).resolves.toBe(1);
    expect((await cli(['quarantine:list'])).stdout).toContain('no quarantined mail');
    const unknown = await cli(['quarantine:replay', '999999']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('inbound mail 999999 does not exist');
  }, 120_000);

  it('refuses an embedded database that a running server holds, with a clear message', async () => {
    const pgdata = path.join(dataDir, 'pgdata');
    fs.mkdirSync(pgdata, { recursive: true });
    fs.writeFileSync(path.join(pgdata, 'maildesk.pid'), String(process.pid));
    const res = await cli(['quarantine:list'], { DATABASE_URL: undefined });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`in use by process ${process.pid}`);
    expect(res.stderr).toContain('stop the server first');
  }, 120_000);
});

describeImap('maildesk import:imap', () => {
  let dovecot: TestDovecot;

  beforeAll(async () => {
    dovecot = await startDovecot();
  });

  afterAll(async () => {
    await dovecot?.stop();
  });

  it('imports a folder read-only as history, and a second run finds only duplicates', async () => {
    await dovecot.appendMany(
      SUPPORT_USER,
      [
        rawMail({ from: 'Dana <dana@example.test>', subject: 'Printer jam', messageId: 'imap-1@example.test' }),
        rawMail({
          from: 'Dana <dana@example.test>',
          subject: 'Re: Printer jam',
          messageId: 'imap-2@example.test',
          inReplyTo: 'imap-1@example.test',
        }),
        rawMail({
          from: 'Eve <eve@example.test>',
          subject: 'Badge does not open door 4',
          messageId: 'imap-3@example.test',
        }),
      ],
      'Processed',
    );
    const outboxBefore = await count('SELECT count(*) FROM outbox');
    const url = dovecot.url(SUPPORT_USER, 'Processed');
    const first = await cli(['import:imap', url]);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('imported 3 mails');
    expect(first.stdout).toContain('created 2, appended 1, duplicate 0, ignored 0, quarantined 0');
    expect(first.stdout).not.toContain('secret'); // the password never shows
    await expect(
      count(`SELECT count(*) FROM inbound_mail WHERE message_id LIKE 'imap-%' AND source = 'cli'`),
    ).resolves.toBe(3);
    await expect(count('SELECT count(*) FROM outbox')).resolves.toBe(outboxBefore);

    const second = await cli(['import:imap', url]);
    expect(second.stdout).toContain('created 0, appended 0, duplicate 3, ignored 0, quarantined 0');

    // Read-only: no flag was set on the server.
    const client = await dovecot.client();
    try {
      await client.mailboxOpen('Processed', { readOnly: true });
      const seen: string[] = [];
      for await (const m of client.fetch('1:*', { flags: true })) if (m.flags?.has('\\Seen')) seen.push(String(m.seq));
      expect(seen).toEqual([]);
    } finally {
      await client.logout();
    }
  }, 120_000);

  it('exits 1 for a folder that does not exist and 2 for a URL that is not IMAP', async () => {
    const missing = await cli(['import:imap', dovecot.url(SUPPORT_USER, 'NoSuchFolder')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot open NoSuchFolder');
    const bad = await cli(['import:imap', 'http://example.test/INBOX']);
    expect(bad.code).toBe(2);
  }, 120_000);
});

describe('maildesk blobs', () => {
  it('migrate moves old raw mail from PostgreSQL into DATA_DIR/blobs in batches, and a second run resumes', async () => {
    const crypto = await import('node:crypto');
    const raws = [0, 1, 2].map((i) =>
      Buffer.from(`From: old${i}@customer.test\r\nSubject: old ${i}\r\n\r\nbody ${i}\r\n`),
    );
    for (const [i, raw] of raws.entries()) {
      await db.dataSource.query(
        `INSERT INTO inbound_mail (source, dedupe_key, message_id, size, raw, status)
         VALUES ('cli', $1, $1, $2, $3, 'created')`,
        [`blob-old-${i}@customer.test`, raw.length, raw],
      );
    }
    const first = await cli(['blobs', 'migrate', '--batch', '1', '--limit', '2']);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/2 row\(s\) moved to filesystem .*blobs; 0 attachment\(s\) and 1 raw mail\(s\) still/);
    await expect(count('SELECT count(*) FROM inbound_mail WHERE raw IS NOT NULL')).resolves.toBe(1);
    const second = await cli(['blobs:migrate']);
    expect(second).toMatchObject({ code: 0 });
    expect(second.stdout).toMatch(/1 row\(s\) moved .* 0 raw mail\(s\) still/);
    for (const raw of raws) {
      const h = crypto.createHash('sha256').update(raw).digest('hex');
      expect(fs.readFileSync(path.join(dataDir, 'blobs', h.slice(0, 2), h.slice(2, 4), h)).equals(raw)).toBe(true);
      await expect(count(`SELECT count(*) FROM inbound_mail WHERE raw_sha256 = '${h}' AND raw IS NULL`)).resolves.toBe(
        1,
      );
    }
    const sweep = await cli(['blobs', 'sweep']);
    expect(sweep).toMatchObject({ code: 0 });
    expect(sweep.stdout).toContain('0 unreferenced blob(s) deleted');
  }, 120_000);
});
