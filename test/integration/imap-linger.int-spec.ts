import { IMAP_LINGER_MS } from '../../src/inbound-mail/imap/mailbox-poller';
import { createTestApp, TestApp } from '../setup/app';
import { DatabaseKind, forEachDatabase } from '../setup/database';
import { dovecotAvailable, rawMail, startDovecot, SUPPORT_USER, TestDovecot, waitFor } from '../setup/dovecot';

const describeImap = dovecotAvailable() ? describe : describe.skip;

/**
 * For one suite: a Dovecot holding `mail(0)` and the app polling it with `env` besides IDLE off and
 * a polling interval far away, so that only the NOOPs under test can find later mail.
 */
function pollerSuite(kind: DatabaseKind, env: Record<string, string>, mail: (n: number) => string) {
  const suite = {} as { dovecot: TestDovecot; t: TestApp };
  beforeAll(async () => {
    suite.dovecot = await startDovecot();
    await suite.dovecot.append(SUPPORT_USER, mail(0));
    const imap = { IMAP_URL: suite.dovecot.url(), IMAP_POLL_SECONDS: '300', IMAP_IDLE: 'false' };
    suite.t = await createTestApp({ ...imap, ...env }, kind);
  }, 60_000);
  afterAll(async () => {
    await suite.t?.close();
    await suite.dovecot?.stop();
  });
  const importedIds = async (): Promise<string[]> =>
    (await suite.t.db.dataSource.query(`SELECT message_id FROM inbound_mail WHERE source = 'imap' ORDER BY 1`)).map(
      (r: { message_id: string }) => r.message_id,
    );
  return {
    append: (n: number) => suite.dovecot.append(SUPPORT_USER, mail(n)),
    importedIds,
    imported: async () => (await importedIds()).length,
  };
}

forEachDatabase(
  'IMAP poller: lingering after an import',
  (kind) => {
    const s = pollerSuite(kind, {}, (n) =>
      rawMail({ from: `erin${n}@customer.test`, subject: `Burst ${n}`, messageId: `burst-${n}@customer.test` }),
    );

    it('imports each mail of a burst, appended right after the one before was imported', async () => {
      // Only the NOOPs that follow an import can find each (mailbox-poller.ts IMAP_LINGER_MS).
      for (let n = 1; n <= 3; n++) {
        await waitFor(`mail ${n - 1} imported`, async () => (await s.imported()) === n, 20_000);
        await s.append(n);
      }
      await waitFor('the whole burst imported', async () => (await s.imported()) === 4, 20_000);
      await expect(s.importedIds()).resolves.toEqual([
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
    const s = pollerSuite(kind, { IMAP_NOOP_MS: '100' }, (n) =>
      rawMail({ from: `noop${n}@customer.test`, subject: `Asked ${n}`, messageId: `asked-${n}@customer.test` }),
    );

    it('imports a mail that arrives long after the last import', async () => {
      await waitFor('the first mail imported', async () => (await s.imported()) === 1, 20_000);
      // The linger after that import long over: only the NOOP every 100 ms can find the next mail.
      await new Promise((r) => setTimeout(r, 3 * IMAP_LINGER_MS));
      await s.append(1);
      await waitFor('the second mail imported', async () => (await s.imported()) === 2, 20_000);
      await expect(s.importedIds()).resolves.toEqual(['asked-0@customer.test', 'asked-1@customer.test']);
    });
  },
  describeImap,
);
