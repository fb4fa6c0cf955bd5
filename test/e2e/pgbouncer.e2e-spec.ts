import type { INestApplication } from '@nestjs/common';
import * as crypto from 'node:crypto';
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LEADERSHIP_APPLICATION_NAME } from '../../src/inbound-mail/imap/mailbox-leader-lock';
import { createTestApp, TestApp } from '../setup/app';
import { createTestDatabase, TestDatabase } from '../setup/database';
import {
  dovecotAvailable,
  rawMail as imapMail,
  startDovecot,
  SUPPORT_USER,
  TestDovecot,
  waitFor,
} from '../setup/dovecot';
import { postRaw, rawMail } from '../setup/mail';
import { pgbouncerAvailable, startPgBouncer, TestPgBouncer } from '../setup/pgbouncer';
import { SmtpSink } from '../setup/smtp-sink';
import { openSse, SseClient } from '../setup/sse';

/**
 * Two app instances on one database, both through one real PgBouncer 1.18 in transaction mode
 * (Debian's: no protocol-level prepared statements) with two server connections for everyone,
 * configured as docs/pgbouncer.md says (DATABASE_POOLER=pgbouncer, DATABASE_DIRECT_URL): the
 * request flow with its mail through the outbox, one IMAP leader at a time (the leadership's
 * session locks on the direct connection), live events of one instance's change on the other's
 * stream (LISTEN on the direct connection, NOTIFY through PgBouncer), and the takeover of a mailbox
 * when its leader stops.
 */

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

function listen(app: INestApplication): Promise<number> {
  const server = app.getHttpServer() as http.Server;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

interface Ready {
  mailboxes: Array<{ id: number; imap: boolean; leader: boolean }>;
}

(pgbouncerAvailable() && dovecotAvailable() ? describe : describe.skip)(
  'two instances through PgBouncer (transaction mode)',
  () => {
    let db: TestDatabase;
    let bouncer: TestPgBouncer;
    let sink: SmtpSink;
    let dovecot: TestDovecot;
    const apps: TestApp[] = [];
    const stopped = new Set<TestApp>();
    const streams: SseClient[] = [];
    let admin: string;
    const sql = <T = Record<string, unknown>>(q: string, p: unknown[] = []): Promise<T[]> =>
      db.dataSource.query<T[]>(q, p);
    const leads = async (t: TestApp): Promise<boolean> =>
      ((await t.http().get('/health/ready')).body as Ready).mailboxes.some((m) => m.imap && m.leader);
    const imported = async (messageId: string) =>
      (await sql(`SELECT 1 FROM messages WHERE message_id = $1`, [messageId])).length;

    beforeAll(async () => {
      [db, bouncer, sink, dovecot] = await Promise.all([
        createTestDatabase('postgres'),
        startPgBouncer({ poolSize: 2 }),
        SmtpSink.start(),
        startDovecot(),
      ]);
      const env = {
        SMTP_URL: sink.url,
        IMAP_URL: dovecot.url(),
        IMAP_POLL_SECONDS: '1',
        ENCRYPTION_KEY: crypto.randomBytes(32).toString('hex'),
        LOGIN_RATE_LIMIT: '1000',
        OUTBOX_RETRY_BASE_MS: '100',
      };
      for (let i = 0; i < 2; i++) apps.push(await createTestApp(env, 'postgres', { pgbouncer: bouncer, db }));
      admin = await apps[0].adminToken();
    }, 90_000);

    afterAll(async () => {
      for (const s of streams) s.close();
      for (const t of apps) if (!stopped.has(t)) await t.close();
      await db?.drop();
      await Promise.all([bouncer?.stop(), sink?.stop(), dovecot?.stop()]);
    }, 30_000);

    it('runs the pool through PgBouncer and nothing else there: sessions of their own go to PostgreSQL directly', () => {
      for (const t of apps) {
        expect(t.config.database).toMatchObject({ pooler: 'pgbouncer', directUrl: db.url, preparedStatements: 'auto' });
        expect(t.config.database.url).toBe(bouncer.urlFor(db.url));
      }
      expect(bouncer.ini).toMatch(/pool_mode = transaction/);
      expect(bouncer.ini).not.toMatch(/ignore_startup_parameters|max_prepared_statements/);
    });

    it('takes a mail in by webhook, lists it, takes it, replies and closes it; every mail sent once', async () => {
      const [a, b] = apps;
      const customer = 'pia@customer.test';
      const res = await postRaw(
        a,
        rawMail({ from: `Pia <${customer}>`, subject: 'Through the pooler', messageId: 'pb-1@customer.test' }),
      );
      expect(res.status).toBe(200);
      expect(res.body.results[0].status).toBe('created');
      const id = res.body.results[0].requestId as number;
      // Listed by the other instance (its GET /requests and operator lookup are the prepared hot reads).
      for (let i = 0; i < 3; i++) {
        const list = await b.http().get('/requests?status=new').set(auth(admin)).expect(200);
        expect(list.body.items.map((r: { id: number }) => r.id)).toContain(id);
        await b.http().get(`/requests/${id}`).set(auth(admin)).expect(200);
      }
      await b.http().post(`/requests/${id}/assign`).set(auth(admin)).send({}).expect(200);
      const posted = await a
        .http()
        .post(`/requests/${id}/messages`)
        .set(auth(admin))
        .send({ text: 'Fixed through PgBouncer.' })
        .expect(201);
      await b.http().post(`/requests/${id}/close`).set(auth(admin)).expect(200);
      const mails = () => sink.mails.filter((m) => m.envelope.to.includes(customer));
      await waitFor('the four mails to the customer', async () => mails().length >= 4);
      const reply = mails().find((m) => m.parsed.messageId === `<${posted.body.messageId}>`);
      expect(reply?.parsed.text).toContain('Fixed through PgBouncer.');
      const detail = await a.http().get(`/requests/${id}`).set(auth(admin)).expect(200);
      expect(detail.body.status).toBe('closed');
      await new Promise((r) => setTimeout(r, 1000));
      expect(mails()).toHaveLength(4);
      expect(new Set(mails().map((m) => m.parsed.messageId)).size).toBe(4);
    });

    it('stores mails over 1 MB, several at once, their bytes in the blob store before the transaction', async () => {
      const [a, b] = apps;
      const text = `${'Long line of a big mail through the pooler. '.repeat(40_000)}THE END`;
      const raw = rawMail({ from: 'big@customer.test', subject: 'Big', messageId: 'pb-big@customer.test', text });
      expect(raw.length).toBeGreaterThan(1024 * 1024);
      // Several at once, so that concurrent ingest transactions share the two server connections.
      const results = await Promise.all(
        [a, b, a].map((t, i) =>
          postRaw(
            t,
            i
              ? rawMail({
                  from: 'big@customer.test',
                  subject: `Big ${i}`,
                  messageId: `pb-big-${i}@customer.test`,
                  text,
                })
              : raw,
          ),
        ),
      );
      // One request: the two later mails of the same sender are appended to it.
      expect(results.map((r) => r.body.results?.[0]?.status).sort()).toEqual(['appended', 'appended', 'created']);
      const sizes = await sql<{ size: number }>(`SELECT size FROM inbound_mail WHERE message_id LIKE 'pb-big%'`);
      expect(sizes.map((r) => Number(r.size))).toHaveLength(3);
      expect(sizes.every((r) => Number(r.size) > 1024 * 1024)).toBe(true);
      const [row] = await sql<{ size: number }>(`SELECT size FROM inbound_mail WHERE message_id = $1`, [
        'pb-big@customer.test',
      ]);
      expect(Number(row.size)).toBe(raw.length);
      const id = results[0].body.results[0].requestId as number;
      const messages = await b.http().get(`/requests/${id}/messages`).set(auth(admin)).expect(200);
      const customer = messages.body.items.filter((m: { kind: string }) => m.kind === 'customer');
      expect(customer).toHaveLength(3);
      expect(customer[0].text).toMatch(/^Long line of a big mail through the pooler\./);
    });

    it('imports IMAP mail once, led by exactly one instance whose locks are held on a direct session', async () => {
      const both = await waitFor('one leader', async () => {
        const l = await Promise.all(apps.map(leads));
        return l.filter(Boolean).length === 1 && l;
      });
      // Still one leader a few polls later (locks taken through PgBouncer would land on any server session).
      await new Promise((r) => setTimeout(r, 3000));
      expect(await Promise.all(apps.map(leads))).toEqual(both);
      const locks = await sql<{ application_name: string; n: number }>(
        `SELECT a.application_name, count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        GROUP BY 1`,
      );
      // Two instance locks and one mailbox lock, all on the leadership sessions.
      expect(locks).toEqual([{ application_name: LEADERSHIP_APPLICATION_NAME, n: 3 }]);
      await dovecot.append(
        SUPPORT_USER,
        imapMail({ from: 'ida@customer.test', subject: 'By IMAP', messageId: 'pb-imap-1@customer.test' }),
      );
      await waitFor('the IMAP mail', async () => (await imported('pb-imap-1@customer.test')) > 0);
      await new Promise((r) => setTimeout(r, 2000));
      expect(await imported('pb-imap-1@customer.test')).toBe(1);
    }, 40_000);

    it("delivers a change made through one instance to the other's live stream (LISTEN on the direct session)", async () => {
      const [a, b] = apps;
      const stream = await openSse(await listen(b.app), '/events/stream', auth(admin));
      streams.push(stream);
      expect(stream.status).toBe(200);
      await waitFor('the LISTEN session', async () => {
        const [row] = await sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'maildesk live events' AND query LIKE 'LISTEN%'`,
        );
        return row.n === 1;
      });
      const res = await postRaw(
        a,
        rawMail({ from: 'lea@customer.test', subject: 'Live', messageId: 'pb-live@customer.test' }),
      );
      const id = res.body.results[0].requestId as number;
      await a.http().post(`/requests/${id}/assign`).set(auth(admin)).send({}).expect(200);
      // Within 10 s: with LISTEN up the hub reads the log unwoken every 30 s, so this is the NOTIFY.
      await stream.until(
        (events) => events.some((e) => e.event === 'assigned' && JSON.parse(e.data).requestId === id),
        10_000,
      );
    });

    it('hands the mailbox to the other instance when its leader stops', async () => {
      const leader = (await Promise.all(apps.map(leads))).indexOf(true);
      const [gone, survivor] = leader === 0 ? apps : [apps[1], apps[0]];
      await gone.close();
      stopped.add(gone);
      await waitFor('the survivor to lead', () => leads(survivor), 15_000);
      await dovecot.append(
        SUPPORT_USER,
        imapMail({ from: 'ole@customer.test', subject: 'After', messageId: 'pb-imap-2@customer.test' }),
      );
      await waitFor('the mail after the takeover', async () => (await imported('pb-imap-2@customer.test')) > 0);
      const [{ n }] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM inbound_mail WHERE source = 'imap'`);
      expect(n).toBe(2);
    }, 40_000);
  },
);
