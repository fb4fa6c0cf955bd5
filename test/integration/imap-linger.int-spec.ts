import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { dovecotAvailable, rawMail, startDovecot, SUPPORT_USER, TestDovecot, waitFor } from '../setup/dovecot';

const describeImap = dovecotAvailable() ? describe : describe.skip;

forEachDatabase(
  'IMAP poller: lingering after an import',
  (kind) => {
    let dovecot: TestDovecot;
    let t: TestApp;

    const inboundCount = async (): Promise<number> =>
      Number((await t.db.dataSource.query(`SELECT count(*) AS n FROM inbound_mail WHERE source = 'imap'`))[0].n);
    const mail = (n: number) =>
      rawMail({ from: `erin${n}@customer.test`, subject: `Burst ${n}`, messageId: `burst-${n}@customer.test` });

    beforeAll(async () => {
      dovecot = await startDovecot();
      await dovecot.append(SUPPORT_USER, mail(0));
      // No IDLE and a polling interval far away: only the NOOPs that follow an import can find the
      // mail appended right after it (mailbox-poller.ts IMAP_LINGER_MS).
      t = await createTestApp({ IMAP_URL: dovecot.url(), IMAP_POLL_SECONDS: '300', IMAP_IDLE: 'false' }, kind);
    }, 30000);

    afterAll(async () => {
      await t?.close();
      await dovecot?.stop();
    });

    it('imports each mail of a burst, appended right after the one before was imported', async () => {
      for (let n = 1; n <= 3; n++) {
        await waitFor(`mail ${n - 1} imported`, async () => (await inboundCount()) === n, 20_000);
        await dovecot.append(SUPPORT_USER, mail(n));
      }
      await waitFor('the whole burst imported', async () => (await inboundCount()) === 4, 20_000);
      const rows = await t.db.dataSource.query(
        `SELECT message_id FROM inbound_mail WHERE source = 'imap' ORDER BY message_id`,
      );
      expect(rows.map((r: { message_id: string }) => r.message_id)).toEqual([
        'burst-0@customer.test',
        'burst-1@customer.test',
        'burst-2@customer.test',
        'burst-3@customer.test',
      ]);
    });
  },
  describeImap,
);
