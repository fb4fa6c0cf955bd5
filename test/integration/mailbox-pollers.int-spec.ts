import { jest } from '@jest/globals';
import { INestApplication } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { ImapPollerService } from '../../src/inbound-mail/imap/imap-poller.service';
import { InboundMailService } from '../../src/inbound-mail/inbound-mail.service';
import { MailboxCredentialsService } from '../../src/mailboxes/mailbox-credentials.service';
import { MailboxesService } from '../../src/mailboxes/mailboxes.service';
import { createTestDatabase, forEachDatabase, TestDatabase } from '../setup/database';
import { dovecotAvailable, rawMail, startDovecot, SUPPORT_USER, TestDovecot, waitFor } from '../setup/dovecot';
import { activateMailbox, addMailbox, deactivateMailbox } from '../setup/imap-mailboxes';

const describeImap = dovecotAvailable() ? describe : describe.skip;

const BILLING_USER = 'billing@example.test';
const SALES_USER = 'sales@example.test';

/**
 * One IMAP poller per mailbox (issue 18): two Dovecot users as two mailboxes, each with its own
 * cursor; a mailbox added while the app runs is polled within seconds, a deactivated one is not;
 * two app instances on one PostgreSQL database share the mailboxes out.
 */
forEachDatabase(
  'IMAP pollers, one per mailbox',
  (kind) => {
    let dovecot: TestDovecot;
    let db: TestDatabase;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-pollers-'));
    const apps: INestApplication[] = [];
    let billingId: number;
    /** Message-ID -> the mailbox id each instance's pollers handed to ingest with it. */
    const handedTo = new Map<string, Array<number | null | undefined>>();

    async function startInstance(): Promise<INestApplication> {
      const config = loadConfig({
        DATA_DIR: dataDir,
        SUPPORT_ADDRESS: 'support@desk.test',
        JWT_SECRET: 'test-jwt-secret-0123456789abcdef',
        INBOUND_TOKEN: 'test-inbound-token-0123456789',
        IMAP_URL: dovecot.url(),
        IMAP_POLL_SECONDS: '2',
        LOG_LEVEL: 'warn',
      });
      const app = await createApp(config, db.url, process.env.TEST_LOGS ? undefined : ['error']);
      const inbound = app.get(InboundMailService);
      const ingest = inbound.ingest.bind(inbound);
      jest.spyOn(inbound, 'ingest').mockImplementation((raw, source, options) => {
        const id = /^Message-ID: <([^>]+)>/im.exec(raw.toString())?.[1] ?? '?';
        handedTo.set(id, [...(handedTo.get(id) ?? []), options?.mailboxId]);
        return ingest(raw, source, options);
      });
      await app.init();
      apps.push(app);
      return app;
    }

    const sql = <T = Record<string, unknown>>(q: string, p: unknown[] = []): Promise<T[]> =>
      db.dataSource.query<T[]>(q, p);
    /**
     * The mailbox a message arrived in: the one its poller gave InboundMailService.ingest (once), which
     * is the one its request belongs to (`requests.mailbox_id`, NULL for the default mailbox);
     * undefined before it arrived.
     */
    const mailboxOf = async (messageId: string): Promise<number | null | undefined> => {
      const rows = await sql<{ mailbox_id: number | null }>(
        `SELECT r.mailbox_id FROM messages m JOIN requests r ON r.id = m.request_id WHERE m.message_id = $1`,
        [messageId],
      );
      if (!rows.length) return undefined;
      const calls = handedTo.get(messageId) ?? [];
      expect(calls).toHaveLength(1);
      const handed = calls[0] ?? null;
      expect(rows[0].mailbox_id ?? (await defaultId())).toBe(handed);
      return handed;
    };
    const arrived = (messageId: string) => async () => (await mailboxOf(messageId)) !== undefined;
    const defaultId = async () => (await sql<{ id: number }>(`SELECT id FROM mailboxes WHERE is_default`))[0].id;
    const mail = (from: string, id: string) => rawMail({ from, subject: `About ${id}`, messageId: id });

    beforeAll(async () => {
      [dovecot, db] = await Promise.all([
        startDovecot({ users: { [BILLING_USER]: 'billing-secret', [SALES_USER]: 'sales-secret' } }),
        createTestDatabase(kind),
      ]);
    });

    afterAll(async () => {
      for (const app of apps) await app.close().catch(() => undefined);
      await db?.drop();
      await dovecot?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('imports each mailbox into itself, with a cursor each', async () => {
      const app = await startInstance();
      billingId = await addMailbox(app, {
        name: 'Billing',
        address: 'billing@desk.test',
        imapUrl: dovecot.url(BILLING_USER),
      });
      await dovecot.append(SUPPORT_USER, mail('ann@customer.test', 'to-support-1@customer.test'));
      await dovecot.append(BILLING_USER, mail('bob@customer.test', 'to-billing-1@customer.test'));
      await waitFor(
        'both mails',
        async () => (await arrived('to-support-1@customer.test')()) && (await arrived('to-billing-1@customer.test')()),
      );
      expect(await mailboxOf('to-billing-1@customer.test')).toBe(billingId);
      expect(await mailboxOf('to-support-1@customer.test')).toBe(await defaultId());
      const cursors = await sql<{ mailbox: string; last_uid: string }>(
        `SELECT mailbox, last_uid FROM mailbox_cursors ORDER BY mailbox`,
      );
      expect(cursors.map((c) => [c.mailbox, Number(c.last_uid)])).toEqual([
        [`imap://billing%40example.test@127.0.0.1:${dovecot.port}/INBOX`, 1],
        [`imap://support%40example.test@127.0.0.1:${dovecot.port}/INBOX`, 1],
      ]);
      // Each poller's state is on its mailbox's row, and in the instance's statuses.
      const statuses = await waitFor('both mailboxes reported', async () => {
        const s = await app.get(ImapPollerService).statuses();
        return s.filter((p) => p.imap && p.lastSuccessAt && p.leader).length === 2 && s;
      });
      expect(statuses.find((p) => p.mailboxId === billingId)).toMatchObject({ state: 'active', backlog: 0 });
      const [row] = await sql<{ last_success_at: Date; backlog: number; state: string }>(
        `SELECT last_success_at, backlog, state FROM mailboxes WHERE id = $1`,
        [billingId],
      );
      expect(row).toMatchObject({ backlog: 0, state: 'active', last_success_at: expect.any(Date) });
    }, 60_000);

    it('polls a mailbox added while running within seconds', async () => {
      const [app] = apps;
      await dovecot.append(SALES_USER, mail('cat@customer.test', 'to-sales-1@customer.test'));
      const started = Date.now();
      const salesId = await addMailbox(app, {
        name: 'Sales',
        address: 'sales@desk.test',
        imapUrl: dovecot.url(SALES_USER),
      });
      await waitFor('the mail of the new mailbox', arrived('to-sales-1@customer.test'), 15_000);
      console.info(`a mailbox added while running: its first mail in after ${Date.now() - started} ms`);
      expect(await mailboxOf('to-sales-1@customer.test')).toBe(salesId);
    }, 30_000);

    it('stops polling a deactivated mailbox and resumes from its cursor when active again', async () => {
      const [app] = apps;
      await deactivateMailbox(app, billingId);
      await waitFor('billing given up', async () => {
        const s = await app.get(ImapPollerService).statuses();
        return !s.find((p) => p.mailboxId === billingId)?.leader;
      });
      await dovecot.append(BILLING_USER, mail('dan@customer.test', 'to-billing-2@customer.test'));
      // A mail to another mailbox arrives meanwhile; the disabled one's does not.
      await dovecot.append(SUPPORT_USER, mail('eve@customer.test', 'to-support-2@customer.test'));
      await waitFor('the other mailbox still polled', arrived('to-support-2@customer.test'), 15_000);
      await new Promise((r) => setTimeout(r, 3000));
      expect(await arrived('to-billing-2@customer.test')()).toBe(false);

      await activateMailbox(app, billingId);
      await waitFor('the mail that waited', arrived('to-billing-2@customer.test'), 15_000);
      expect(await mailboxOf('to-billing-2@customer.test')).toBe(billingId);
      // From the cursor: nothing before it was imported again.
      const [{ n }] = await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM inbound_mail WHERE message_id = 'to-billing-1@customer.test'`,
      );
      expect(n).toBe(1);
      const [cursor] = await sql<{ last_uid: string }>(
        `SELECT last_uid FROM mailbox_cursors WHERE mailbox LIKE 'imap://billing%'`,
      );
      expect(Number(cursor.last_uid)).toBe(2);
    }, 60_000);

    it('reports a refused login to the credentials, shows the mailbox in error, and restarts it when its password is fixed', async () => {
      const [app] = apps;
      const refused = jest.spyOn(app.get(MailboxCredentialsService), 'loginRefused');
      dovecot.addUser('helpdesk@example.test', 'right-password');
      const id = await addMailbox(app, {
        name: 'Helpdesk',
        address: 'helpdesk@desk.test',
        imapUrl: dovecot.url('helpdesk@example.test').replace('right-password', 'wrong-password'),
      });
      await waitFor('the refused login reported', async () => refused.mock.calls.some(([m]) => m.id === id), 15_000);
      const [, service, error] = refused.mock.calls.find(([m]) => m.id === id)!;
      expect(service).toBe('imap');
      expect(error).toBeInstanceOf(Error);
      const failing = await waitFor('the mailbox in error', async () => {
        const s = (await app.get(ImapPollerService).statuses()).find((p) => p.mailboxId === id);
        return s?.state === 'error' && s;
      });
      expect(failing.lastError).toEqual(expect.any(String));
      expect(failing.lastError).not.toContain('wrong-password');
      const [row] = await sql<{ state: string; last_error: string }>(
        `SELECT state, last_error FROM mailboxes WHERE id = $1`,
        [id],
      );
      expect(row.state).toBe('error');

      // A new password (its session restarted with it): the mail that waited arrives, the mailbox is active again.
      await dovecot.append('helpdesk@example.test', mail('gus@customer.test', 'to-helpdesk-1@customer.test'));
      await app.get(MailboxesService).update(id, { imapUrl: dovecot.url('helpdesk@example.test') });
      await waitFor('the mail after the fix', arrived('to-helpdesk-1@customer.test'), 15_000);
      expect(await mailboxOf('to-helpdesk-1@customer.test')).toBe(id);
      await waitFor('the mailbox active again', async () => {
        const [r] = await sql<{ state: string }>(`SELECT state FROM mailboxes WHERE id = $1`, [id]);
        return r.state === 'active';
      });
      await deactivateMailbox(app, id);
    }, 60_000);

    if (kind === 'postgres') {
      it('shares the mailboxes out between two instances, each leading some', async () => {
        const [a] = apps;
        const b = await startInstance();
        const leaders = async () =>
          Promise.all(
            [a, b].map(async (app) =>
              (await app.get(ImapPollerService).statuses()).filter((p) => p.leader).map((p) => p.mailboxId),
            ),
          );
        // Three mailboxes, two instances: at most two each, and every mailbox led by one.
        const led = await waitFor(
          'the mailboxes shared out',
          async () => {
            const [la, lb] = await leaders();
            return la.length >= 1 && lb.length >= 1 && la.length + lb.length === 3 && [la, lb];
          },
          15_000,
        );
        expect(new Set(led.flat()).size).toBe(3);
        // Mail to each still arrives once, whichever instance leads it.
        for (const [user, id] of [
          [SUPPORT_USER, 'to-support-3@customer.test'],
          [BILLING_USER, 'to-billing-3@customer.test'],
          [SALES_USER, 'to-sales-3@customer.test'],
        ])
          await dovecot.append(user, mail('fay@customer.test', id));
        for (const id of ['to-support-3@customer.test', 'to-billing-3@customer.test', 'to-sales-3@customer.test'])
          await waitFor(id, arrived(id), 15_000);
      }, 60_000);
    }
  },
  describeImap,
);
