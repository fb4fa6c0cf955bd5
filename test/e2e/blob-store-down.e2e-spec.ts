import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { BLOB_STORE, type BlobStore } from '../../src/blobs/blob-store';
import { ImapPollerService } from '../../src/inbound-mail/imap/imap-poller.service';
import { SmtpListenerService } from '../../src/inbound-mail/smtp/smtp-listener.service';
import { createTestApp, TEST_INBOUND_TOKEN, type TestApp } from '../setup/app';
import { dovecotAvailable, startDovecot, SUPPORT_USER, type TestDovecot } from '../setup/dovecot';
import { sql, waitFor } from '../setup/mail';
import { mailgunSigned, TEST_MAILGUN_KEY } from '../setup/providers';
import { startS3, type TestS3 } from '../setup/s3';
import { SmtpTestClient } from '../setup/smtp-client';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const RUN = Date.now().toString(36);
const CLI = path.resolve('dist/src/cli.js');

/** A mail from `from` with a random attachment (`file`): the raw mail and the file are two blobs. */
function mailWithFile(from: string, messageId: string, file: Buffer): Buffer {
  return Buffer.from(
    [
      `From: ${from}`,
      'To: support@desk.test',
      `Subject: Store down ${messageId}`,
      'Date: Mon, 07 Dec 2026 09:00:00 +0000',
      `Message-ID: <${messageId}>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'The log is attached.',
      '--b1',
      'Content-Type: application/octet-stream; name="log.bin"',
      'Content-Disposition: attachment; filename="log.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      file.toString('base64').replace(/.{76}/g, '$&\r\n'),
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

interface GateRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node dist/src/cli.js mailgate --url --token` with `input` on stdin (as test/e2e/mailgate.e2e-spec.ts). */
function mailgate(url: string, input: Buffer): Promise<GateRun> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(DATABASE_URL|INBOUND_|PUBLIC_URL$|PORT$|DATA_DIR$|NODE_OPTIONS$)/.test(k) && k !== 'JEST_WORKER_ID',
    ),
  );
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, 'mailgate', '--url', url, '--token', TEST_INBOUND_TOKEN, '--timeout', '30'],
      { env: clean, timeout: 60_000, cwd: os.tmpdir() },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

/**
 * Issue 22: "including the server being down (ingest answers retryably, nothing lost)", for every
 * way in but the webhook (test/e2e/blob-storage.e2e-spec.ts): one app on PostgreSQL storing blobs in
 * a real s3rver, stopped and started again on the same port and folder around each step. While it
 * is down, each way in answers "retry later" in its own terms and stores nothing (no row, nothing
 * quarantined); the retry once it is back stores the mail exactly once, with its file in the store.
 * The mailgate step runs the built CLI (`npm run build` first, as test/e2e/mailgate.e2e-spec.ts).
 */
describe('ingest while the blob store (S3) is down, on PostgreSQL', () => {
  let s3: TestS3;
  let dovecot: TestDovecot | undefined;
  let t: TestApp;
  let store: BlobStore;
  let smtpPort: number;
  let lmtpPort: number;
  let base: string;
  const imap = dovecotAvailable();

  beforeAll(async () => {
    s3 = await startS3();
    if (imap) dovecot = await startDovecot();
    t = await createTestApp(
      {
        ...s3.env,
        SMTP_LISTEN: '127.0.0.1:0',
        LMTP_LISTEN: '127.0.0.1:0',
        MAILGUN_SIGNING_KEY: TEST_MAILGUN_KEY,
        WEBHOOK_RATE_LIMIT: '0',
        ...(dovecot ? { IMAP_URL: dovecot.url(), IMAP_POLL_SECONDS: '2', IMAP_IDLE: 'true' } : {}),
      },
      'postgres',
    );
    store = t.app.get<BlobStore>(BLOB_STORE);
    const listeners = t.app.get(SmtpListenerService);
    smtpPort = listeners.address('smtp')!.port;
    lmtpPort = listeners.address('lmtp')!.port;
    // mailgate talks HTTP to a listening desk.
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  }, 90_000);

  afterAll(async () => {
    await t?.close();
    await dovecot?.stop();
    await s3?.close();
  }, 30_000);

  /** The inbound_mail rows of a Message-ID: status and source (a quarantined mail would be one). */
  const inbound = (messageId: string) =>
    sql<{ status: string; source: string; raw_sha256: string | null }>(
      t,
      'SELECT status, source, raw_sha256 FROM inbound_mail WHERE message_id = $1',
      [messageId],
    );

  /** The mail is stored once, created, its raw mail and its file in the store (named by their rows). */
  async function storedOnce(messageId: string, raw: Buffer, file: Buffer, source: string): Promise<void> {
    const rows = await inbound(messageId);
    expect(rows).toEqual([{ status: 'created', source, raw_sha256: sha(raw) }]);
    await expect(
      sql(t, 'SELECT id FROM messages WHERE message_id = $1', [messageId]).then((r) => r.length),
    ).resolves.toBe(1);
    const files = await sql<{ sha256: string; content: Buffer | null }>(
      t,
      `SELECT a.sha256, a.content FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.message_id = $1`,
      [messageId],
    );
    expect(files).toEqual([{ sha256: sha(file), content: null }]);
    await expect(store.exists(sha(raw))).resolves.toBe(true);
    await expect(store.exists(sha(file))).resolves.toBe(true);
  }

  /** Runs `down` with the S3 server stopped, then starts it again (same port, same folder). */
  async function whileDown(down: () => Promise<void>): Promise<void> {
    await s3.stop();
    try {
      await down();
    } finally {
      await s3.start();
    }
  }

  it('SMTP: 451 4.3.0 while the store is down (nothing stored, nothing quarantined); the retry gets 250, stored once', async () => {
    const id = `smtp.${RUN}@customer.test`;
    const file = crypto.randomBytes(20_000);
    const raw = mailWithFile('ann@customer.test', id, file);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
    const send = () => transport.sendMail({ envelope: { from: 'ann@customer.test', to: ['support@desk.test'] }, raw });
    await whileDown(async () => {
      const refused = await send().then(
        () => null,
        (e: { responseCode?: number; response?: string }) => e,
      );
      expect(refused?.responseCode).toBe(451);
      expect(refused?.response).toMatch(/^451 4\.3\.0 .*blob store unavailable/);
      await expect(inbound(id)).resolves.toEqual([]);
    });
    const info = await send();
    expect(info.response).toMatch(/^250 2\.6\.0 <.+> stored \(created request \d+\)$/);
    const again = await send();
    expect(again.response).toMatch(/already stored \(duplicate\)$/);
    await storedOnce(id, raw, file, 'smtp');
  });

  it('LMTP: 451 4.3.0 for the recipient while the store is down; the retry gets 250, stored once', async () => {
    const id = `lmtp.${RUN}@customer.test`;
    const file = crypto.randomBytes(10_000);
    const raw = mailWithFile('bob@customer.test', id, file);
    const deliver = async () => {
      const { client, greeting } = await SmtpTestClient.connect(lmtpPort);
      expect(greeting.code).toBe(220);
      expect((await client.command('LHLO mta.customer.test')).code).toBe(250);
      expect((await client.command('MAIL FROM:<bob@customer.test>')).code).toBe(250);
      expect((await client.command('RCPT TO:<support@desk.test>')).code).toBe(250);
      const { start, replies } = await client.data(raw, 1);
      expect(start.code).toBe(354);
      await client.command('QUIT').catch(() => undefined);
      return replies[0];
    };
    await whileDown(async () => {
      const reply = await deliver();
      expect(reply.code).toBe(451);
      expect(reply.text).toMatch(/^4\.3\.0 .*blob store unavailable/);
      await expect(inbound(id)).resolves.toEqual([]);
    });
    const reply = await deliver();
    expect(reply.code).toBe(250);
    await storedOnce(id, raw, file, 'lmtp');
  });

  (imap ? it : it.skip)(
    'IMAP: an APPENDed mail stays unseen and unimported while the store is down; imported once after',
    async () => {
      const poller = t.app.get(ImapPollerService);
      const id = `imap.${RUN}@customer.test`;
      const file = crypto.randomBytes(15_000);
      const raw = mailWithFile('cat@customer.test', id, file);
      let uid = 0;
      const flags = async () => {
        const c = await dovecot!.client();
        try {
          const lock = await c.getMailboxLock('INBOX');
          try {
            const msg = await c.fetchOne(String(uid), { uid: true, flags: true }, { uid: true });
            return msg ? [...(msg.flags ?? [])] : null;
          } finally {
            lock.release();
          }
        } finally {
          await c.logout();
        }
      };
      const cursor = async () =>
        Number((await sql<{ last_uid: string }>(t, 'SELECT last_uid FROM mailbox_cursors'))[0]?.last_uid ?? 0);
      await whileDown(async () => {
        uid = await dovecot!.append(SUPPORT_USER, raw);
        // The poller tried (IDLE) and failed on the store.
        const status = await waitFor(async () => {
          const s = await poller.status();
          return s.lastError && /blob store unavailable/.test(s.lastError) ? s : null;
        }, 20_000);
        expect(status.lastError).toMatch(/blob store unavailable/);
        await expect(inbound(id)).resolves.toEqual([]);
        expect(await cursor()).toBeLessThan(uid);
        expect(await flags()).not.toContain('\\Seen');
      });
      // The poller's backoff after a few failures is a few seconds; IMAP_POLL_SECONDS=2 then IDLE.
      await waitFor(async () => (await inbound(id)).length > 0, 60_000, 200);
      await storedOnce(id, raw, file, 'imap');
      await waitFor(async () => ((await flags()) ?? []).includes('\\Seen'), 10_000);
      await waitFor(async () => (await cursor()) >= uid, 10_000);
      // Later polls find nothing new: still exactly one.
      await new Promise((r) => setTimeout(r, 2500));
      await expect(inbound(id).then((r) => r.length)).resolves.toBe(1);
      await expect(poller.status()).resolves.toMatchObject({ lastError: null, backlog: 0 });
    },
    120_000,
  );

  it('mailgate: exits 75 while the store is down (nothing stored); rerun exits 0, stored once', async () => {
    const id = `gate.${RUN}@customer.test`;
    const file = crypto.randomBytes(12_000);
    const raw = mailWithFile('dan@customer.test', id, file);
    await whileDown(async () => {
      const run = await mailgate(base, raw);
      expect(run.code).toBe(75);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^maildesk mailgate: .*503.*\n$/);
      await expect(inbound(id)).resolves.toEqual([]);
    });
    await expect(mailgate(base, raw)).resolves.toEqual({ code: 0, stdout: '', stderr: '' });
    await storedOnce(id, raw, file, 'webhook');
  }, 90_000);

  it('Mailgun: 503 with Retry-After while the store is down, as for the database; the same call (same token) after, stored once', async () => {
    const id = `mailgun.${RUN}@customer.test`;
    const file = crypto.randomBytes(8_000);
    const raw = mailWithFile('eve@customer.test', id, file);
    const signed = mailgunSigned();
    const post = () =>
      t
        .http()
        .post('/inbound/mailgun?mime')
        .type('form')
        .send({
          recipient: 'support@desk.test',
          sender: 'eve@customer.test',
          'body-mime': raw.toString('utf8'),
          ...signed,
        });
    await whileDown(async () => {
      const res = await post();
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.body.message).toMatch(/blob store unavailable/);
      await expect(inbound(id)).resolves.toEqual([]);
    });
    const ok = await post();
    expect(ok.status).toBe(200);
    expect(ok.body.results[0]).toMatchObject({ status: 'created', messageId: id });
    await storedOnce(id, raw, file, 'webhook');
  });
});
