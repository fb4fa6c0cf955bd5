import { jest } from '@jest/globals';
import { ImapPollerService } from '../../src/inbound-mail/imap/imap-poller.service';
import { InboundMailService } from '../../src/inbound-mail/inbound-mail.service';
import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { dovecotAvailable, rawMail, startDovecot, SUPPORT_USER, TestDovecot, waitFor } from '../setup/dovecot';

const describeImap = dovecotAvailable() ? describe : describe.skip;

forEachDatabase(
  'IMAP poller recovering from failures',
  (kind) => {
    let dovecot: TestDovecot;
    let t: TestApp;
    const mails = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) =>
        rawMail({
          from: `user${(from + k) % 7}@customer.test`,
          subject: `Issue ${from + k}`,
          messageId: `issue-${from + k}@customer.test`,
        }),
      );
    const imported = async (): Promise<number> =>
      Number((await t.db.dataSource.query(`SELECT count(*) AS n FROM inbound_mail WHERE source = 'imap'`))[0].n);
    const cursor = async () =>
      (
        await t.db.dataSource.query('SELECT last_uid, last_success_at, last_error, last_error_at FROM mailbox_cursors')
      )[0];

    beforeAll(async () => {
      dovecot = await startDovecot();
    });

    afterEach(async () => {
      await t?.close();
    });

    afterAll(async () => {
      await dovecot?.stop();
    });

    it('reconnects after Dovecot restarts mid-import and continues without losses or duplicates', async () => {
      await dovecot.appendMany(SUPPORT_USER, mails(0, 300));
      t = await createTestApp({ IMAP_URL: dovecot.url(), IMAP_POLL_SECONDS: '300' }, kind);
      const ingest = jest.spyOn(t.app.get(InboundMailService), 'ingest');
      await waitFor('the import under way', async () => (await imported()) >= 20, 20000);
      await dovecot.restart();
      await dovecot.appendMany(SUPPORT_USER, mails(300, 310));
      await waitFor('all 310 mails', async () => (await imported()) === 310, 60_000);
      // Nothing was fetched and ingested twice around the reconnect.
      const results = await Promise.all(ingest.mock.results.map((r) => r.value as Promise<{ status: string }>));
      expect(results.filter((r) => r.status === 'duplicate')).toEqual([]);
      const row = await waitFor('a successful round after the failure', async () => {
        const r = await cursor();
        return r.last_error_at && r.last_success_at > r.last_error_at && r;
      });
      expect(Number(row.last_uid)).toBe(310);
      expect(row.last_error).toEqual(expect.any(String));
      const status = await t.app.get(ImapPollerService).status();
      expect(status).toMatchObject({ leader: true, lastError: null, backlog: 0 });
    }, 120_000);

    it('keeps the cursor when ingest fails (database unavailable) and imports on the retry', async () => {
      await dovecot.append(
        SUPPORT_USER,
        rawMail({ from: 'dana@customer.test', subject: 'Laptop', messageId: 'dana-1@customer.test' }),
      );
      t = await createTestApp({ IMAP_URL: dovecot.url(), IMAP_POLL_SECONDS: '300' }, kind);
      const service = t.app.get(InboundMailService);
      // Ingest throws only when the database is unreachable: stand in for that once.
      const ingest = jest
        .spyOn(service, 'ingest')
        .mockRejectedValueOnce(
          Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
        );
      await waitFor('the failure recorded', async () => (await cursor())?.last_error?.includes('ECONNREFUSED'), 10000);
      // This app's database is fresh: everything in the mailbox is new to it.
      // 311 mails into the embedded database: generous under a loaded CI machine (behaviour, not speed).
      await waitFor('the retry', async () => (await imported()) === 311, 60_000);
      expect(ingest.mock.calls.length).toBe(312);
      // The cursor moves after the mail's transaction commits (a crash in between re-fetches it, and
      // the dedupe key answers duplicate): wait for it rather than read it at once.
      const row = await waitFor('the cursor past the last mail', async () => {
        const r = await cursor();
        return Number(r.last_uid) >= 311 && r;
      });
      expect(Number(row.last_uid)).toBe(311);
    }, 120_000);
  },
  describeImap,
);
