import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatKey, generateKey, KeyRing, keyIdOf, sealedKeyId } from '../../src/mailboxes/secret-box';
import { keyFilePath, readKeyFile } from '../../src/mailboxes/secret-box.service';
import { createTestDatabase, TestDatabase } from '../setup/database';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

let db: TestDatabase;
let dataDir: string;

/** Runs the built CLI (`node dist/src/cli.js`) against the test database (as cli.e2e-spec.ts). */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(DATABASE_URL|SMTP_|IMAP_|INBOUND_|ADMIN_|JWT_|PORT$|HOST$|DATA_DIR$|SUPPORT_|OUTBOX_|LOG_LEVEL$|NODE_OPTIONS$|ENCRYPTION_KEY$)/.test(
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

/** Every sealed value stored, with the key id it names. */
async function sealedValues(): Promise<string[]> {
  const rows: Array<Record<string, string | null>> = await db.dataSource.query(
    `SELECT imap_secret, smtp_secret, oauth2_client_secret, oauth2_refresh_secret, oauth2_access_secret FROM mailboxes ORDER BY id`,
  );
  const verifiers: Array<{ verifier_secret: string }> = await db.dataSource.query(
    'SELECT verifier_secret FROM oauth2_authorizations ORDER BY state_hash',
  );
  return [...rows.flatMap((r) => Object.values(r)), ...verifiers.map((v) => v.verifier_secret)].filter(
    (v): v is string => v !== null,
  );
}

const PASSWORD = 'CliImapPw-9';

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-cli-mailboxes-'));
});

afterAll(async () => {
  await db?.drop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('maildesk mailbox commands', () => {
  it('adds, lists, updates and deactivates mailboxes; API errors exit 1, bad usage 2; no secret printed', async () => {
    const added = await cli([
      'mailbox:add',
      '--name',
      'Billing',
      '--address',
      'billing@desk.test',
      '--aliases',
      'invoices@desk.test,pay@desk.test',
      '--imap-url',
      `imap://billing:${PASSWORD}@127.0.0.1:1143/INBOX`,
    ]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^created mailbox \d+ {2}active {2}billing@desk.test/);
    const id = Number(/created mailbox (\d+)/.exec(added.stdout)![1]);

    const oauth = await cli([
      'mailbox',
      'add',
      '--name',
      'Office',
      '--address',
      'office@desk.test',
      '--imap-url',
      'imaps://office%40desk.test@outlook.office365.com/INBOX',
      '--oauth2-provider',
      'microsoft',
      '--oauth2-client-id',
      'client-1',
      '--oauth2-client-secret',
      'CliClientSecret-8',
    ]);
    expect(oauth.code).toBe(0);
    expect(oauth.stdout).toContain('oauth2 microsoft not authorized');

    const list = await cli(['mailbox', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/active {2}support@desk.test \[default\]/);
    expect(lines[1]).toContain('aliases invoices@desk.test,pay@desk.test');
    expect(lines[1]).toContain('imap imap://billing@127.0.0.1:1143/INBOX (password)');
    const json = await cli(['mailbox:list', '--json']);
    expect(JSON.parse(json.stdout).items.map((m: { address: string }) => m.address)).toEqual([
      'support@desk.test',
      'billing@desk.test',
      'office@desk.test',
    ]);

    const taken = await cli(['mailbox:add', '--name', 'X', '--address', 'pay@desk.test']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/already a mailbox's address or alias: pay@desk.test/);
    const bad = await cli(['mailbox:add', '--name', 'X', '--address', 'x@desk.test', '--imap-url', 'http://x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/imapUrl must start with imap:\/\/ or imaps:\/\//);
    expect((await cli(['mailbox:add', '--name', 'X'])).code).toBe(2);
    expect((await cli(['mailbox:update', 'abc', '--name', 'X'])).code).toBe(2);
    expect((await cli(['mailbox:update', String(id)])).code).toBe(2);
    expect((await cli(['mailbox:add', '--name', 'X', '--address', 'y@desk.test', '--bogus', '1'])).code).toBe(2);

    const renamed = await cli(['mailbox:update', String(id), '--name', 'Billing team', '--group', 'none']);
    expect(renamed.code).toBe(0);
    expect(renamed.stdout).toContain('"Billing team"');
    const [row] = await db.dataSource.query('SELECT imap_secret FROM mailboxes WHERE id = $1', [id]);
    expect(row.imap_secret).toMatch(/^v1\./);
    expect((await cli(['mailbox:update', '999999', '--name', 'X'])).code).toBe(1);

    const removed = await cli(['mailbox', 'remove', String(id)]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/deactivated mailbox \d+ {2}disabled/);
    const def = lines[0].split(' ')[0];
    const refused = await cli(['mailbox:remove', def]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/default mailbox cannot be deactivated/);
    const back = await cli(['mailbox:update', String(id), '--activate']);
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/updated mailbox \d+ {2}active/);

    const printed = [added, oauth, list, json, taken, renamed, removed, back]
      .map((r) => r.stdout + r.stderr)
      .join('\n');
    expect(printed).not.toContain(PASSWORD);
    expect(printed).not.toContain('CliClientSecret-8');
  }, 240_000);

  it('rotates the key of DATA_DIR/encryption.key: the new key first, every secret re-sealed, still readable', async () => {
    const [old] = readKeyFile(keyFilePath(dataDir))!;
    const before = await sealedValues();
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect(new Set(before.map(sealedKeyId))).toEqual(new Set([keyIdOf(old)]));
    const plain = before.map((v) => new KeyRing([old]).open(v));

    const rotated = await cli(['rotate-encryption-key']);
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    const keys = readKeyFile(keyFilePath(dataDir))!;
    expect(keys).toHaveLength(2);
    expect(keys[1].equals(old)).toBe(true);
    expect(fs.statSync(keyFilePath(dataDir)).mode & 0o777).toBe(0o600);
    expect(rotated.stdout).toContain(`key ${keyIdOf(keys[0])} now encrypts; ${before.length} stored secret(s)`);
    expect(rotated.stdout).not.toContain(formatKey(keys[0]));
    const after = await sealedValues();
    expect(new Set(after.map(sealedKeyId))).toEqual(new Set([keyIdOf(keys[0])]));
    expect(after.map((v) => new KeyRing([keys[0]]).open(v))).toEqual(plain);
    // The app still opens them: a mailbox update keeps the password and lists fine.
    expect((await cli(['mailbox:list'])).code).toBe(0);
  }, 120_000);

  it('with ENCRYPTION_KEY: prints the next key and the value to set, re-seals only with a key already in the ring', async () => {
    const fileKeys = readKeyFile(keyFilePath(dataDir))!;
    const current = fileKeys.map(formatKey).join(',');
    const proposal = await cli(['rotate-encryption-key'], { ENCRYPTION_KEY: current });
    expect(proposal.code).toBe(0);
    const next = /new key \S+: ([0-9a-f]{64})/.exec(proposal.stdout)![1];
    expect(proposal.stdout).toContain(`ENCRYPTION_KEY=${next},${current}`);
    expect(proposal.stdout).toContain(`maildesk rotate-encryption-key --key ${next}`);
    const unchanged = await sealedValues();
    expect(new Set(unchanged.map(sealedKeyId))).toEqual(new Set([keyIdOf(fileKeys[0])]));

    const notInRing = await cli(['rotate-encryption-key', '--key', next], { ENCRYPTION_KEY: current });
    expect(notInRing.code).toBe(1);
    expect(notInRing.stderr).toContain(`ENCRYPTION_KEY=${next},${current}`);
    expect(await sealedValues()).toEqual(unchanged);

    const done = await cli(['rotate-encryption-key', '--key', next], { ENCRYPTION_KEY: `${next},${current}` });
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    const after = await sealedValues();
    expect(new Set(after.map(sealedKeyId))).toEqual(new Set([keyIdOf(Buffer.from(next, 'hex'))]));
    expect((await cli(['mailbox:list'], { ENCRYPTION_KEY: next })).code).toBe(0);

    // A key that opens nothing stored: the whole rotation is refused and nothing changes.
    const stranger = formatKey(generateKey());
    const refused = await cli(['rotate-encryption-key', '--key', stranger], { ENCRYPTION_KEY: stranger });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/sealed with key \S+, which is not among the encryption keys/);
    expect(await sealedValues()).toEqual(after);
    expect((await cli(['rotate-encryption-key', '--key', 'short'])).code).toBe(2);
  }, 120_000);
});
