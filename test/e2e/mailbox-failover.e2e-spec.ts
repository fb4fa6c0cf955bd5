import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess, startAppProcess } from '../setup/app-process';
import { createTestDatabase, TestDatabase } from '../setup/database';
import { dovecotAvailable, rawMail, startDovecot, SUPPORT_USER, TestDovecot, waitFor } from '../setup/dovecot';

/**
 * Two instances of the built app on one PostgreSQL database and two IMAP mailboxes (issue 18):
 * each instance leads one, and when one is SIGKILLed (no shutdown hook: its database session just
 * ends) the other takes its mailbox over and imports a new mail within seconds. Before issue 18
 * the last mail arrived 22 s after the kill; the target is 5 s, asserted with room for a busy machine.
 */

const BILLING_USER = 'billing@example.test';

interface Ready {
  mailboxes: Array<{ id: number; address: string; imap: boolean; leader: boolean }>;
}

/** `POST /mailboxes` as the admin; the new mailbox's id. */
async function addMailbox(app: AppProcess, body: { name: string; address: string; imapUrl: string }): Promise<number> {
  const login = await fetch(`${app.base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@desk.test', password: 'admin-password-1' }),
  });
  const { accessToken } = (await login.json()) as { accessToken: string };
  const res = await fetch(`${app.base}/mailboxes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`POST /mailboxes: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: number }).id;
}

(dovecotAvailable() ? describe : describe.skip)('mailboxes shared by two instances, taken over on a kill', () => {
  let db: TestDatabase;
  let dovecot: TestDovecot;
  const apps: AppProcess[] = [];
  const dirs: string[] = [];
  let billingId: number;

  const ready = async (app: AppProcess): Promise<Ready> =>
    (await (await fetch(`${app.base}/health/ready`)).json()) as Ready;
  const led = async (app: AppProcess): Promise<number[]> =>
    (await ready(app)).mailboxes.filter((m) => m.leader).map((m) => m.id);
  const arrived = (messageId: string) => async () =>
    (await db.dataSource.query(`SELECT 1 FROM messages WHERE message_id = $1`, [messageId])).length > 0;

  beforeAll(async () => {
    [db, dovecot] = await Promise.all([
      createTestDatabase('postgres'),
      startDovecot({ users: { [BILLING_USER]: 'billing-secret' } }),
    ]);
    // One key for both: each opens the passwords the other sealed.
    const key = crypto.randomBytes(32).toString('hex');
    const env = (dataDir: string) => ({
      ENCRYPTION_KEY: key,
      ADMIN_EMAIL: 'admin@desk.test',
      ADMIN_PASSWORD: 'admin-password-1',
      DATABASE_URL: db.url,
      IMAP_URL: dovecot.url(),
      IMAP_POLL_SECONDS: '30',
      INBOUND_TOKEN: 'failover-inbound-token-0123456789',
      JWT_SECRET: 'failover-jwt-secret-0123456789abcdef',
      SUPPORT_ADDRESS: 'support@desk.test',
      DATA_DIR: dataDir,
    });
    for (let i = 0; i < 2; i++) dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-failover-')));
    apps.push(...(await Promise.all(dirs.map((d) => startAppProcess(env(d))))));
    billingId = await addMailbox(apps[0], {
      name: 'Billing',
      address: 'billing@desk.test',
      imapUrl: dovecot.url(BILLING_USER),
    });
  }, 90_000);

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await Promise.all([dovecot?.stop(), db?.drop()]);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }, 30_000);

  it('spreads the two mailboxes over the two instances, one each', async () => {
    const [a, b] = await waitFor(
      'one mailbox led by each instance',
      async () => {
        const both = await Promise.all(apps.map(led));
        return both.every((l) => l.length === 1) && both;
      },
      20_000,
    );
    expect(new Set([...a, ...b]).size).toBe(2);
    await dovecot.append(
      SUPPORT_USER,
      rawMail({ from: 'a@customer.test', subject: 'One', messageId: 'fo-1@customer.test' }),
    );
    await dovecot.append(
      BILLING_USER,
      rawMail({ from: 'b@customer.test', subject: 'Two', messageId: 'fo-2@customer.test' }),
    );
    await waitFor(
      'both mails',
      async () => (await arrived('fo-1@customer.test')()) && (await arrived('fo-2@customer.test')()),
    );
  }, 40_000);

  it('takes a killed instance’s mailbox over and imports its next mail within seconds', async () => {
    // Kill the instance that leads the second mailbox; the survivor leads the default one.
    const leaders = await Promise.all(apps.map(led));
    const victim = apps[leaders.findIndex((l) => l.includes(billingId))];
    const survivor = apps.find((a) => a !== victim)!;
    await victim.kill();
    const killedAt = Date.now();
    await dovecot.append(
      BILLING_USER,
      rawMail({ from: 'c@customer.test', subject: 'After the kill', messageId: 'fo-3@customer.test' }),
    );
    await waitFor('the mail after the kill', arrived('fo-3@customer.test'), 20_000);
    const takeover = Date.now() - killedAt;
    console.info(`takeover after SIGKILL of the leader: the next mail was imported ${takeover} ms after the kill`);
    expect(takeover).toBeLessThan(10_000);
    expect((await led(survivor)).sort()).toEqual(
      (await ready(survivor)).mailboxes
        .filter((m) => m.imap)
        .map((m) => m.id)
        .sort(),
    );
    const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM inbound_mail WHERE source = 'imap'`);
    expect(n).toBe(3);
  }, 40_000);
});
