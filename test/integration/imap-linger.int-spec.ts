import { IMAP_LINGER_MS } from '../../src/inbound-mail/imap/mailbox-poller';
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

forEachDatabase(
  'IMAP poller with IMAP_NOOP_MS: asking instead of IDLE',
  (kind) => {
    let dovecot: TestDovecot;
    let t: TestApp;

    const inboundCount = async (): Promise<number> =>
      Number((await t.db.dataSource.query(`SELECT count(*) AS n FROM inbound_mail WHERE source = 'imap'`))[0].n);
    const mail = (n: number) =>
      rawMail({ from: `noop${n}@customer.test`, subject: `Asked ${n}`, messageId: `asked-${n}@customer.test` });

    beforeAll(async () => {
      dovecot = await startDovecot();
      await dovecot.append(SUPPORT_USER, mail(0));
      // No IDLE, a polling interval far away, and the linger after the first import long over when
      // the second mail comes: only the NOOP every 100 ms can find it.
      t = await createTestApp(
        { IMAP_URL: dovecot.url(), IMAP_POLL_SECONDS: '300', IMAP_IDLE: 'false', IMAP_NOOP_MS: '100' },
        kind,
      );
    }, 30000);

    afterAll(async () => {
      await t?.close();
      await dovecot?.stop();
    });

    it('imports a mail that arrives long after the last import', async () => {
      await waitFor('the first mail imported', async () => (await inboundCount()) === 1, 20_000);
      await new Promise((r) => setTimeout(r, 3 * IMAP_LINGER_MS));
      await dovecot.append(SUPPORT_USER, mail(1));
      await waitFor('the second mail imported', async () => (await inboundCount()) === 2, 20_000);
      const rows = await t.db.dataSource.query(`SELECT message_id FROM inbound_mail WHERE source = 'imap' ORDER BY 1`);
      expect(rows.map((r: { message_id: string }) => r.message_id)).toEqual([
        'asked-0@customer.test',
        'asked-1@customer.test',
      ]);
    });
  },
  describeImap,
);
