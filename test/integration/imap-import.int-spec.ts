import { ImapPollerService } from '../../src/inbound-mail/imap/imap-poller.service';
import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { dovecotAvailable, rawMail, startDovecot, SUPPORT_USER, TestDovecot, waitFor } from '../setup/dovecot';

const describeImap = dovecotAvailable() ? describe : describe.skip;

forEachDatabase(
  'IMAP poller: import, threading, IDLE',
  (kind) => {
    let dovecot: TestDovecot;
    let t: TestApp;
    let firstUid: number;

    const inboundCount = async (): Promise<number> =>
      Number((await t.db.dataSource.query(`SELECT count(*) AS n FROM inbound_mail WHERE source = 'imap'`))[0].n);

    beforeAll(async () => {
      dovecot = await startDovecot();
      // Both are in the mailbox before the app starts; the second was already read by a human.
      firstUid = await dovecot.append(
        SUPPORT_USER,
        rawMail({ from: 'Ann <ann@customer.test>', subject: 'Printer broken', messageId: 'ann-1@customer.test' }),
      );
      await dovecot.append(
        SUPPORT_USER,
        rawMail({ from: 'bob@customer.test', subject: 'VPN down', messageId: 'bob-1@customer.test' }),
        ['\\Seen'],
      );
      // A long polling interval: only IDLE can explain a pickup within seconds.
      t = await createTestApp({ IMAP_URL: dovecot.url(), IMAP_POLL_SECONDS: '300', IMAP_IDLE: 'true' }, kind);
    }, 60_000);

    afterAll(async () => {
      await t?.close();
      await dovecot?.stop();
    });

    it('imports mail that was in the mailbox before start, opening a request each', async () => {
      await waitFor('two imported mails', async () => (await inboundCount()) === 2);
      const rows = await t.db.dataSource.query(
        `SELECT m.message_id, m.direction, c.email, r.subject FROM messages m
       JOIN requests r ON r.id = m.request_id JOIN customers c ON c.id = r.customer_id
       WHERE m.direction = 'in' ORDER BY m.message_id`,
      );
      // Two senders' mail is ingested concurrently (only one sender's keeps its UID order).
      expect(rows).toEqual([
        { message_id: 'ann-1@customer.test', direction: 'in', email: 'ann@customer.test', subject: 'Printer broken' },
        { message_id: 'bob-1@customer.test', direction: 'in', email: 'bob@customer.test', subject: 'VPN down' },
      ]);
    });

    it('imports mail a human already marked \\Seen (the cursor decides, not the flag)', async () => {
      await waitFor('bob imported', async () => (await inboundCount()) === 2);
      const [row] = await t.db.dataSource.query(
        `SELECT status FROM inbound_mail WHERE message_id = 'bob-1@customer.test'`,
      );
      expect(row).toEqual({ status: 'created' });
    });

    it('flags imported mail \\Seen and moves the cursor to the last UID', async () => {
      await waitFor('two imported mails', async () => (await inboundCount()) === 2);
      const c = await dovecot.client();
      try {
        const lock = await c.getMailboxLock('INBOX');
        try {
          const unseen = await c.search({ seen: false }, { uid: true });
          expect(unseen).toEqual([]);
          const [cursor] = await t.db.dataSource.query(
            'SELECT mailbox, uid_validity, last_uid, last_success_at FROM mailbox_cursors',
          );
          expect(cursor.mailbox).toBe(`imap://support%40example.test@127.0.0.1:${dovecot.port}/INBOX`);
          expect(cursor.uid_validity).toBe(String(c.mailbox && c.mailbox.uidValidity));
          expect(Number(cursor.last_uid)).toBe(firstUid + 1);
          expect(cursor.last_success_at).toBeInstanceOf(Date);
        } finally {
          lock.release();
        }
      } finally {
        await c.logout();
      }
    });

    it('puts a follow-up from the same customer on the same request', async () => {
      await waitFor('two imported mails', async () => (await inboundCount()) === 2);
      await dovecot.append(
        SUPPORT_USER,
        rawMail({
          from: 'ann@customer.test',
          subject: 'Re: Printer broken',
          messageId: 'ann-2@customer.test',
          inReplyTo: 'ann-1@customer.test',
        }),
      );
      await waitFor('the follow-up', async () => (await inboundCount()) === 3);
      const rows = await t.db.dataSource.query(
        `SELECT message_id, request_id FROM messages WHERE message_id IN ('ann-1@customer.test', 'ann-2@customer.test') ORDER BY id`,
      );
      expect(rows).toHaveLength(2);
      expect(rows[1].request_id).toBe(rows[0].request_id);
      const [inbound] = await t.db.dataSource.query(
        `SELECT status FROM inbound_mail WHERE message_id = 'ann-2@customer.test'`,
      );
      expect(inbound.status).toBe('appended');
    });

    it('picks up a new APPEND through IDLE within 3 seconds', async () => {
      await waitFor('earlier mail', async () => (await inboundCount()) === 3);
      await new Promise((r) => setTimeout(r, 500)); // let the poller settle into IDLE
      const started = Date.now();
      await dovecot.append(
        SUPPORT_USER,
        rawMail({ from: 'cat@customer.test', subject: 'Password reset', messageId: 'cat-1@customer.test' }),
      );
      await waitFor('the IDLE pickup', async () => (await inboundCount()) === 4, 3000);
      const elapsed = Date.now() - started;
      console.info(`IMAP IDLE pickup after APPEND: ${elapsed} ms`);
      expect(elapsed).toBeLessThan(3000);
    });

    it('reports leadership, success and an empty backlog in status()', async () => {
      await waitFor('all mail', async () => (await inboundCount()) === 4);
      const status = await t.app.get(ImapPollerService).status();
      expect(status).toMatchObject({ enabled: true, leader: true, lastError: null, backlog: 0 });
      expect(status.lastSuccessAt).toBeInstanceOf(Date);
    });
  },
  describeImap,
);
