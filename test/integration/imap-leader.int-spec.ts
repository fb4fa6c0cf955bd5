import { jest } from '@jest/globals';
import { INestApplication } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { ImapPollerService } from '../../src/inbound-mail/imap/imap-poller.service';
import { InboundMailService } from '../../src/inbound-mail/inbound-mail.service';
import { createTestDatabase, forEachDatabase, TestDatabase } from '../setup/database';
import { dovecotAvailable, rawMail, startDovecot, SUPPORT_USER, TestDovecot, waitFor } from '../setup/dovecot';

const describeImap = dovecotAvailable() ? describe : describe.skip;

interface Instance {
  app: INestApplication;
  poller: ImapPollerService;
  ingests: () => number;
}

forEachDatabase(
  'two app instances polling one mailbox',
  (kind) => {
    let dovecot: TestDovecot;
    let db: TestDatabase;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-imap-leader-'));
    const instances: Instance[] = [];

    /** The whole app on the shared database, counting its ingest calls. */
    async function startInstance(): Promise<Instance> {
      const config = loadConfig({
        DATA_DIR: dataDir,
        SUPPORT_ADDRESS: 'support@desk.test',
        JWT_SECRET: 'test-jwt-secret-0123456789abcdef',
        INBOUND_TOKEN: 'test-inbound-token-0123456789',
        IMAP_URL: dovecot.url(),
        IMAP_POLL_SECONDS: '1',
        LOG_LEVEL: 'warn',
      });
      const app = await createApp(config, db.url, process.env.TEST_LOGS ? undefined : ['error']);
      const spy = jest.spyOn(app.get(InboundMailService), 'ingest');
      await app.init();
      const instance = { app, poller: app.get(ImapPollerService), ingests: () => spy.mock.calls.length };
      instances.push(instance);
      return instance;
    }

    const imported = async (): Promise<number> =>
      Number((await db.dataSource.query(`SELECT count(*) AS n FROM inbound_mail WHERE source = 'imap'`))[0].n);
    const mails = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) =>
        rawMail({
          from: `c${(from + k) % 9}@customer.test`,
          subject: `Ticket ${from + k}`,
          messageId: `t-${from + k}@customer.test`,
        }),
      );

    beforeAll(async () => {
      [dovecot, db] = await Promise.all([startDovecot(), createTestDatabase(kind)]);
    });

    afterAll(async () => {
      for (const i of instances) await i.app.close().catch(() => undefined);
      await db?.drop();
      await dovecot?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('imports each message exactly once, through one leader', async () => {
      await dovecot.appendMany(SUPPORT_USER, mails(0, 150));
      const [a, b] = await Promise.all([startInstance(), startInstance()]);
      await dovecot.appendMany(SUPPORT_USER, mails(150, 200));
      // Two instances booting on one machine while 200 mails are filed: bounds for a loaded CI machine (behaviour, not speed).
      await waitFor('200 mails', async () => (await imported()) === 200, 90000);
      expect(a.ingests() + b.ingests()).toBe(200);
      expect([(await a.poller.status()).leader, (await b.poller.status()).leader].filter(Boolean)).toHaveLength(1);
      expect(Math.min(a.ingests(), b.ingests())).toBe(0);
    }, 150000);

    it('hands the mailbox to the other instance when the leader shuts down', async () => {
      const [a, b] = instances;
      const leader = (await a.poller.status()).leader ? a : b;
      const follower = leader === a ? b : a;
      await leader.app.close();
      instances.splice(instances.indexOf(leader), 1);
      await dovecot.append(
        SUPPORT_USER,
        rawMail({ from: 'late@customer.test', subject: 'After failover', messageId: 'late-1@customer.test' }),
      );
      await waitFor('the mail after failover', async () => (await imported()) === 201, 45000);
      expect((await follower.poller.status()).leader).toBe(true);
      const [row] = await db.dataSource.query(
        `SELECT count(*) AS n FROM inbound_mail WHERE message_id = 'late-1@customer.test'`,
      );
      expect(Number(row.n)).toBe(1);
    }, 60000);
  },
  describeImap,
);
