import { INestApplication, Logger, ValidationPipe } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { HttpExceptionFilter } from '../../src/common/http-exception.filter';
import { AppConfig, loadConfig } from '../../src/config/config';
import { AppConfigModule } from '../../src/config/config.module';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { MailTransport } from '../../src/outbound-mail/mail-transport';
import { OutboundMailModule } from '../../src/outbound-mail/outbound-mail.module';
import { OutboxDispatcher } from '../../src/outbound-mail/outbox.dispatcher';
import { OutboxMail } from '../../src/outbound-mail/outbox.entity';
import { OutboxRepository } from '../../src/outbound-mail/outbox.repository';
import { OutboxService } from '../../src/outbound-mail/outbox.service';
import { OutgoingMail } from '../../src/outbound-mail/outgoing-mail';
import { createTestDatabase, forEachDatabase, TestDatabase } from '../setup/database';
import { SmtpSink } from '../setup/smtp-sink';

let db: TestDatabase;
let sink: SmtpSink;
let dataDir: string;
let config: AppConfig;
let app: INestApplication;
let ds: DataSource;
let outbox: OutboxService;
let dispatcher: OutboxDispatcher;

/** Polls `check` until it returns a truthy value. */
async function until<T>(check: () => Promise<T> | T, timeoutMs = 20_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function row(id: string | number): Promise<OutboxMail | null> {
  return ds.getRepository(OutboxMail).findOne({ where: { id: String(id) } });
}

/** A customer, a request and one outgoing conversation message; returns messages.id. */
async function conversationMessage(messageId: string): Promise<number> {
  const email = `c-${messageId.split('@')[0].replace(/\W/g, '')}@client.test`.toLowerCase();
  const [c] = await ds.query(`INSERT INTO customers (email) VALUES ($1) RETURNING id`, [email]);
  const [r] = await ds.query(
    `INSERT INTO requests (customer_id, subject, status) VALUES ($1, 'Printer', 'closed') RETURNING id`,
    [c.id],
  );
  const [m] = await ds.query(
    `INSERT INTO messages (request_id, seq, direction, kind, message_id) VALUES ($1, 1, 'out', 'auto_reply', $2) RETURNING id`,
    [r.id, messageId],
  );
  return m.id;
}

function mail(messageId: string, extra: Partial<OutgoingMail> = {}): OutgoingMail {
  return {
    kind: 'auto_reply',
    to: 'Ada@Example.test',
    toName: 'Ada Lovelace',
    subject: '[#42] We received your request: Printer',
    text: 'We received your request #42.',
    html: '<p>We received your request <b>#42</b>.</p>',
    messageId,
    autoReply: true,
    ...extra,
  };
}

async function enqueueCommitted(m: OutgoingMail): Promise<OutboxMail> {
  return ds.transaction((manager) => outbox.enqueue(manager, m));
}

forEachDatabase('outbound mail over SMTP', (kind) => {
  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    db = await createTestDatabase(kind);
    sink = await SmtpSink.start();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-outbound-'));
    config = loadConfig({
      DATA_DIR: dataDir,
      SMTP_URL: sink.url,
      SMTP_CONNECTION_TIMEOUT_MS: '1000',
      SMTP_GREETING_TIMEOUT_MS: '1000',
      SMTP_SOCKET_TIMEOUT_MS: '5000',
      SUPPORT_ADDRESS: 'support@desk.test',
      SUPPORT_NAME: 'Desk Support',
      MESSAGE_ID_DOMAIN: 'mail.desk.test',
      OUTBOX_POLL_MS: '50',
      OUTBOX_RETRY_BASE_MS: '200',
      OUTBOX_MAX_ATTEMPTS: '10',
      OUTBOX_BATCH_SIZE: '20',
    });
    const moduleRef = await Test.createTestingModule({
      imports: [
        AppConfigModule.forRoot(config),
        TypeOrmModule.forRoot(dataSourceOptions(db.url, 4)),
        OutboundMailModule,
      ],
    }).compile();
    app = moduleRef.createNestApplication(new FastifyAdapter(), { logger: ['error'] });
    app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
    app.useGlobalFilters(new HttpExceptionFilter(app.get(HttpAdapterHost)));
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    ds = app.get(DataSource);
    outbox = app.get(OutboxService);
    dispatcher = app.get(OutboxDispatcher);
  });

  afterAll(async () => {
    await app?.close();
    await sink?.stop();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('outbound mail over SMTP', () => {
    it('sends nothing for mail enqueued in a transaction that rolls back', async () => {
      const id = outbox.newMessageId();
      await expect(
        ds.transaction(async (manager) => {
          await outbox.enqueue(manager, mail(id));
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      await dispatcher.dispatchOnce();
      await new Promise((r) => setTimeout(r, 200));
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM outbox WHERE headers->>'Message-ID' = $1`, [
        `<${id}>`,
      ]);
      expect(n).toBe(0);
      expect(sink.byMessageId(id)).toHaveLength(0);
    });

    it('mints Message-IDs on the configured domain, without brackets', () => {
      const a = outbox.newMessageId();
      expect(a).toMatch(/^[^<>\s@]+@mail\.desk\.test$/);
      expect(outbox.newMessageId()).not.toBe(a);
    });

    it('delivers a committed auto-reply once, within a second, threaded and marked automatic', async () => {
      const id = outbox.newMessageId();
      const messageRowId = await conversationMessage(id);
      const chain = Array.from(
        { length: 60 },
        (_, i) => `thread-${String(i).padStart(2, '0')}.${'x'.repeat(20)}@client.test`,
      );
      const started = Date.now();
      const queued = await enqueueCommitted(
        mail(id, { messageRowId, inReplyTo: '<customer-last@client.test>', references: chain }),
      );
      const [got] = await until(() => (sink.byMessageId(id).length ? sink.byMessageId(id) : null), 5000, 'the mail');
      expect(Date.now() - started).toBeLessThan(1000);

      const p = got.parsed;
      expect(p.messageId).toBe(`<${id}>`);
      expect(p.inReplyTo).toBe('<customer-last@client.test>');
      const refs = ([] as string[]).concat(p.references ?? []);
      expect(refs[0]).toBe(`<${chain[0]}>`);
      expect(refs[refs.length - 1]).toBe('<customer-last@client.test>');
      expect(refs.length).toBeLessThan(chain.length);
      expect(refs.join(' ').length).toBeLessThan(1000);
      expect(p.headers.get('auto-submitted')).toBe('auto-replied');
      expect(p.headers.get('x-auto-response-suppress')).toBe('All');
      expect(p.headers.get('x-loop')).toBe('support@desk.test');
      expect(p.from?.value[0]).toEqual({ address: 'support@desk.test', name: 'Desk Support' });
      const to = Array.isArray(p.to) ? p.to[0] : p.to;
      expect(to?.value[0]).toEqual({ address: 'ada@example.test', name: 'Ada Lovelace' });
      expect(p.subject).toBe('[#42] We received your request: Printer');
      expect(p.text?.trim()).toBe('We received your request #42.');
      expect(p.html).toContain('<b>#42</b>');
      expect(p.date).toBeInstanceOf(Date);
      expect(got.envelope).toEqual({ from: 'support@desk.test', to: ['ada@example.test'] });

      const sent = await until(
        async () => ((await row(queued.id))?.status === 'sent' ? row(queued.id) : null),
        3000,
        'sent',
      );
      expect(sent.attempts).toBe(1);
      expect(sent.sentAt).toBeInstanceOf(Date);
      expect(sent.lockedUntil).toBeNull();
      const [msg] = await ds.query(`SELECT sent_at FROM messages WHERE id = $1`, [messageRowId]);
      expect(msg.sent_at).toBeInstanceOf(Date);
      const delivery = await outbox.deliveryFor([messageRowId, 999999]);
      expect(delivery.get(messageRowId)).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
      expect(delivery.has(999999)).toBe(false);

      await new Promise((r) => setTimeout(r, 300));
      expect(sink.byMessageId(id)).toHaveLength(1);
    });

    it('keeps a mail while the SMTP server is down and delivers it once when it is back', async () => {
      await sink.stop();
      const id = outbox.newMessageId();
      const queued = await enqueueCommitted(mail(id, { autoReply: false, kind: 'operator' }));
      const waiting = await until(
        async () => {
          const r = await row(queued.id);
          return r && r.attempts >= 2 ? r : null;
        },
        20_000,
        'two failed attempts',
      );
      expect(waiting.status).toBe('pending');
      expect(waiting.lastError).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
      await new Promise((r) => setTimeout(r, 1000));
      await sink.restart();
      const sent = await until(
        async () => ((await row(queued.id))?.status === 'sent' ? row(queued.id) : null),
        30_000,
        'sent',
      );
      expect(sent.attempts).toBeGreaterThanOrEqual(3);
      expect(sink.byMessageId(id)).toHaveLength(1);
      expect(sink.byMessageId(id)[0].parsed.headers.has('auto-submitted')).toBe(false);
    }, 90_000);

    it('retries after two 451 answers and delivers on the third attempt', async () => {
      sink.failNext(2, 451);
      const id = outbox.newMessageId();
      const queued = await enqueueCommitted(mail(id));
      const sent = await until(
        async () => ((await row(queued.id))?.status === 'sent' ? row(queued.id) : null),
        20_000,
        'sent',
      );
      expect(sent.attempts).toBe(3);
      expect(sink.refused.slice(-2)).toEqual([451, 451]);
      expect(sink.byMessageId(id)).toHaveLength(1);
    }, 90_000);

    it('fails a mail answered 550 with the reason, and sends it once retried by an admin', async () => {
      sink.failNext(1, 550, 'No such user here');
      const id = outbox.newMessageId();
      const queued = await enqueueCommitted(mail(id));
      const failed = await until(
        async () => ((await row(queued.id))?.status === 'failed' ? row(queued.id) : null),
        20_000,
        'failed',
      );
      expect(failed.attempts).toBe(1);
      expect(failed.lastError).toMatch(/550/);
      expect(failed.lastError).toMatch(/No such user here/);
      expect(sink.byMessageId(id)).toHaveLength(0);
      expect((await outbox.backlog()).failed).toBeGreaterThanOrEqual(1);
      expect((await outbox.listFailed(1, 20)).items.map((m) => m.id)).toContain(queued.id);

      const http = () => request(app.getHttpServer());
      const list = await http().get('/outbox').query({ status: 'failed' });
      expect(list.status).toBe(200);
      expect(list.body.items.find((m: { id: number }) => m.id === Number(queued.id))).toMatchObject({
        status: 'failed',
        messageId: id,
        to: 'ada@example.test',
        attempts: 1,
      });

      const retried = await http().post(`/outbox/${queued.id}/retry`);
      expect(retried.status).toBe(200);
      expect(retried.body).toMatchObject({ id: Number(queued.id), status: 'pending', attempts: 1 });
      const sent = await until(
        async () => ((await row(queued.id))?.status === 'sent' ? row(queued.id) : null),
        5000,
        'sent',
      );
      expect(sent.attempts).toBe(2);
      expect(sink.byMessageId(id)).toHaveLength(1);

      const again = await http().post(`/outbox/${queued.id}/retry`);
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
      const missing = await http().post('/outbox/99999999/retry');
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
      const bad = await http().get('/outbox').query({ status: 'lost' });
      expect(bad.status).toBe(400);
      const sentList = await http().get('/outbox').query({ status: 'sent', limit: 100 });
      expect(sentList.body.items.map((m: { id: number }) => m.id)).toContain(Number(queued.id));
    }, 90_000);

    it('counts only recent auto-replies to one address for the rate limit', async () => {
      const since = new Date(Date.now() - 3600_000);
      const before = await outbox.countAutoRepliesSince(ds.manager, 'rate@example.test', since);
      expect(before).toBe(0);
      await enqueueCommitted(mail(outbox.newMessageId(), { to: 'Rate@Example.test' }));
      await enqueueCommitted(mail(outbox.newMessageId(), { to: 'rate@example.test' }));
      await enqueueCommitted(
        mail(outbox.newMessageId(), { to: 'rate@example.test', kind: 'operator', autoReply: false }),
      );
      expect(await outbox.countAutoRepliesSince(ds.manager, 'RATE@example.test', since)).toBe(2);
      expect(await outbox.countAutoRepliesSince(ds.manager, 'rate@example.test', new Date(Date.now() + 60_000))).toBe(
        0,
      );
    });

    it('delivers each of 500 queued mails exactly once with two dispatchers on two connections', async () => {
      await until(async () => (await outbox.backlog()).pending === 0, 20_000, 'an empty queue');
      await dispatcher.stop();
      const ids = Array.from({ length: 500 }, () => outbox.newMessageId());
      await ds.transaction(async (manager) => {
        for (const id of ids)
          await outbox.enqueue(manager, mail(id, { to: 'bulk@example.test', autoReply: false, kind: 'operator' }));
      });
      const sources = await Promise.all([1, 2].map(() => new DataSource(dataSourceOptions(db.url, 4)).initialize()));
      const transports = sources.map(() => new MailTransport(config));
      const dispatchers = sources.map(
        (s, i) => new OutboxDispatcher(new OutboxRepository(s), config, transports[i], s),
      );
      const before = sink.mails.length;
      try {
        const counts = await Promise.all(dispatchers.map((d) => d.dispatchOnce()));
        expect(counts[0] + counts[1]).toBe(500);
        expect(counts[0]).toBeGreaterThan(0);
        expect(counts[1]).toBeGreaterThan(0);
      } finally {
        await Promise.all(transports.map((t) => t.onApplicationShutdown()));
        await Promise.all(sources.map((s) => s.destroy()));
      }
      expect(sink.mails.length - before).toBe(500);
      const received = new Set(sink.mails.slice(before).map((m) => m.parsed.messageId));
      expect(received.size).toBe(500);
      for (const id of ids) expect(received.has(`<${id}>`)).toBe(true);
      const [{ sent, once }] = await ds.query(
        `SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*) FILTER (WHERE attempts = 1)::int AS once
           FROM outbox WHERE to_address = 'bulk@example.test'`,
      );
      expect({ sent, once }).toEqual({ sent: 500, once: 500 });
    }, 90_000);
  });
});
