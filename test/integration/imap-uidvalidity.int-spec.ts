import { jest } from '@jest/globals';
import { InboundMailService } from '../../src/inbound-mail/inbound-mail.service';
import { IMAP_LINGER_MS } from '../../src/inbound-mail/imap/mailbox-poller';
import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { dovecotAvailable, rawMail, startDovecot, SUPPORT_USER, TestDovecot, waitFor } from '../setup/dovecot';

const describeImap = dovecotAvailable() ? describe : describe.skip;

type Imap = Awaited<ReturnType<TestDovecot['client']>>;

/** Whether the folder is listed; a LIST the server refused (racing the poller's session, as below) says no. */
async function hasSupport(c: Imap): Promise<boolean> {
  return (await c.list().catch(() => [])).some((m) => m.path === 'Support');
}

/**
 * APPENDs `raw` through a session of its own, again when the server answers NO (an APPEND refused
 * stores nothing): on Maildir, a folder just made again can race the poller's session on the old
 * one, whose index Dovecot may still write there; a new session, a moment later, sees the new
 * folder (CI: "Mailbox was deleted under us" five times in a row on one session). The server's
 * answer in the error.
 */
async function appendOnce(dovecot: TestDovecot, raw: string): Promise<void> {
  let last = '';
  for (let i = 0; i < 20; i++) {
    const c = await dovecot.client();
    try {
      await c.append('Support', raw);
      return;
    } catch (e) {
      const err = e as { responseStatus?: string; responseText?: string };
      if (err.responseStatus !== 'NO') throw e;
      last = err.responseText ?? (e as Error).message;
    } finally {
      await c.logout().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`IMAP APPEND refused 20 times: ${last}`);
}

/** Runs `command` until `done` says it took effect (5 tries); the server's last answer in the error. */
async function untilImap(what: string, command: () => Promise<unknown>, done: () => Promise<boolean>): Promise<void> {
  let last = '';
  for (let i = 0; i < 5; i++) {
    try {
      await command();
    } catch (e) {
      last = (e as { responseText?: string }).responseText ?? (e as Error).message;
    }
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`IMAP ${what} did not take effect: ${last}`);
}

forEachDatabase(
  'IMAP poller on a mailbox whose UIDVALIDITY changes',
  (kind) => {
    let dovecot: TestDovecot;
    let t: TestApp;
    const mail = (i: number) =>
      rawMail({ from: `u${i}@customer.test`, subject: `Case ${i}`, messageId: `case-${i}@customer.test` });
    const imported = async (): Promise<number> =>
      Number((await t.db.dataSource.query(`SELECT count(*) AS n FROM inbound_mail WHERE source = 'imap'`))[0].n);
    const cursor = async () => (await t.db.dataSource.query('SELECT uid_validity, last_uid FROM mailbox_cursors'))[0];

    beforeAll(async () => {
      dovecot = await startDovecot();
      const c = await dovecot.client();
      await c.mailboxCreate('Support');
      await c.logout();
    });

    afterAll(async () => {
      await t?.close();
      await dovecot?.stop();
    });

    it('rescans the recreated mailbox from UID 1 without duplicating what was imported', async () => {
      for (const i of [1, 2, 3]) await dovecot.append(SUPPORT_USER, mail(i), [], 'Support');
      t = await createTestApp({ IMAP_URL: dovecot.url(SUPPORT_USER, 'Support'), IMAP_POLL_SECONDS: '1' }, kind);
      await waitFor('the first three', async () => (await imported()) === 3);
      // The cursor moves right after each mail's commit, so a moment after the row is visible.
      await waitFor('the cursor past the first three', async () => Number((await cursor()).last_uid) === 3);
      const before = await cursor();
      // The session IDLEs again once its NOOPs after an import are over (IMAP_LINGER_MS), as a quiet
      // mailbox's does. A session NOOPing on the folder while it is deleted can make Dovecot write its
      // index into the Maildir folder again, half made: CREATE then finds it "existing" and APPEND
      // answers "Mailbox was deleted under us" (CI, embedded database). That is the deletion racing
      // the server's own index, not the UIDVALIDITY change this test is about.
      await new Promise((r) => setTimeout(r, IMAP_LINGER_MS + 2000));

      const ingest = jest.spyOn(t.app.get(InboundMailService), 'ingest');
      const c = await dovecot.client();
      try {
        // Maildir: a delete can race the poller's session writing its index in the folder (Dovecot
        // then answers NO); what counts is that the folder is gone and made again.
        await untilImap(
          'delete Support',
          () => c.mailboxDelete('Support'),
          async () => !(await hasSupport(c)),
        );
        await untilImap(
          'create Support',
          () => c.mailboxCreate('Support'),
          () => hasSupport(c),
        );
        // The same three again (new UIDs 1-3 under the new UIDVALIDITY), then two new ones.
        for (const i of [1, 2, 3, 4, 5]) await appendOnce(dovecot, mail(i));
      } finally {
        await c.logout();
      }
      await waitFor('the two new mails', async () => (await imported()) === 5, 40000);
      await waitFor('the rescan finished', async () => Number((await cursor()).last_uid) === 5, 20000);

      const after = await cursor();
      expect(after.uid_validity).not.toBe(before.uid_validity);
      const results = await Promise.all(
        ingest.mock.results.map((r) => r.value as Promise<{ status: string; messageId: string }>),
      );
      expect(results.map((r) => `${r.messageId} ${r.status}`).sort()).toEqual([
        'case-1@customer.test duplicate',
        'case-2@customer.test duplicate',
        'case-3@customer.test duplicate',
        'case-4@customer.test created',
        'case-5@customer.test created',
      ]);
      const [{ n }] = await t.db.dataSource.query(`SELECT count(*) AS n FROM messages WHERE direction = 'in'`);
      expect(Number(n)).toBe(5);
    }, 120000);
  },
  describeImap,
);
