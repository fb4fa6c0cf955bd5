import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { dovecotAvailable, rawMail, startDovecot, SUPPORT_USER, TestDovecot, waitFor } from '../setup/dovecot';

const describeImap = dovecotAvailable() ? describe : describe.skip;

forEachDatabase(
  'IMAP poller with IMAP_MOVE_TO',
  (kind) => {
    let dovecot: TestDovecot;
    let t: TestApp;

    beforeAll(async () => {
      dovecot = await startDovecot();
    });

    afterAll(async () => {
      await t?.close();
      await dovecot?.stop();
    });

    it('moves imported mail, flagged \\Seen, to the folder, creating it first', async () => {
      for (const i of [1, 2]) {
        await dovecot.append(
          SUPPORT_USER,
          rawMail({ from: `m${i}@customer.test`, subject: `Move ${i}`, messageId: `move-${i}@customer.test` }),
        );
      }
      t = await createTestApp({ IMAP_URL: dovecot.url(), IMAP_MOVE_TO: 'Done', IMAP_POLL_SECONDS: '1' }, kind);
      const c = await dovecot.client();
      try {
        const done = await waitFor('the folder filled', async () => {
          const s = await c.status('Done', { messages: true, unseen: true }).catch(() => false as const);
          return s && s.messages === 2 ? s : false;
        });
        expect(done.unseen).toBe(0);
        const inbox = await c.status('INBOX', { messages: true });
        expect(inbox && inbox.messages).toBe(0);
      } finally {
        await c.logout();
      }
      // Two senders' mails are ingested at once: either may commit first.
      const rows = await t.db.dataSource.query(
        `SELECT message_id FROM inbound_mail WHERE source = 'imap' ORDER BY message_id`,
      );
      expect(rows).toEqual([{ message_id: 'move-1@customer.test' }, { message_id: 'move-2@customer.test' }]);
    });
  },
  describeImap,
);
