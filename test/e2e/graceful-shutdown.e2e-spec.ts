import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess, startAppProcess } from '../setup/app-process';
import { createTestDatabase, TestDatabase } from '../setup/database';
import { dovecotAvailable, startDovecot, TestDovecot } from '../setup/dovecot';
import { rawMail } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

/**
 * SIGTERM on the built app under load: it stops accepting connections at once, every request it
 * had accepted gets its full 200 answer and is stored, the outbox dispatch in progress finishes
 * (no lease left behind), the IMAP poller (leading its mailbox) stops, and the process exits 0.
 */

const TOKEN = 'graceful-inbound-token-0123456789';
const BATCHES = 3;
const PER_BATCH = 200;

(dovecotAvailable() ? describe : describe.skip)('SIGTERM under load', () => {
  let db: TestDatabase;
  let sink: SmtpSink;
  let dovecot: TestDovecot;
  let app: AppProcess;
  let dataDir: string;

  beforeAll(async () => {
    [db, sink, dovecot] = await Promise.all([createTestDatabase(), SmtpSink.start(), startDovecot()]);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-graceful-'));
    app = await startAppProcess({
      DATABASE_URL: db.url,
      SMTP_URL: sink.url,
      IMAP_URL: dovecot.url(),
      INBOUND_TOKEN: TOKEN,
      JWT_SECRET: 'graceful-jwt-secret-0123456789abcdef',
      ADMIN_PASSWORD: 'admin-password-1',
      SUPPORT_ADDRESS: 'support@desk.test',
      OUTBOX_POLL_MS: '100',
      WEBHOOK_RATE_LIMIT: '0',
      DATA_DIR: dataDir,
    });
  }, 60_000);

  afterAll(async () => {
    if (app && app.proc.exitCode === null && app.proc.signalCode === null) await app.kill();
    await Promise.all([dovecot?.stop(), sink?.stop(), db?.drop()]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('answers every accepted request, stores what it acknowledged, finishes its dispatch and exits 0', async () => {
    // The IMAP poller leads its mailbox before we stop it.
    for (let i = 0; i < 50; i++) {
      const ready = (await (await fetch(`${app.base}/health/ready`)).json()) as { imap: { leader: boolean } };
      if (ready.imap.leader) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const batches = Array.from({ length: BATCHES }, (_, b) =>
      Array.from({ length: PER_BATCH }, (_, i) =>
        rawMail({
          from: `c${b}-${i}@customer.test`,
          subject: `Batch ${b} mail ${i}`,
          messageId: `graceful-${b}-${i}@customer.test`,
        }).toString('base64'),
      ),
    );
    const inFlight = batches.map((raws) =>
      fetch(`${app.base}/inbound/mail`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ raws }),
      }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as { results: Array<{ status: string }> },
      })),
    );
    // Let the batches arrive and start, then stop the app while they run.
    const exited = new Promise<number | null>((resolve) => app.proc.once('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 400));
    const signalled = Date.now();
    app.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));

    // No new connection is accepted any more, while the batches are still being answered.
    const late = await fetch(`${app.base}/health/live`).then(
      (r) => `answered ${r.status}`,
      (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.message,
    );
    expect(late).toBe('ECONNREFUSED');

    const answers = await Promise.all(inFlight);
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body.results).toHaveLength(PER_BATCH);
      expect(a.body.results.every((r) => r.status === 'created')).toBe(true);
    }
    await expect(exited).resolves.toBe(0);
    // It does not hang: the batches finished inside the app's 25 s grace (every answer is a 200
    // above), then the outbox, the poller and the pools closed. The bound leaves room for a loaded CI.
    expect(Date.now() - signalled).toBeLessThan(40_000);
    expect(app.output()).toMatch(/SIGTERM: finishing in-flight work, then stopping/);

    // Everything acknowledged is stored, each once.
    const [{ n }] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM inbound_mail WHERE message_id LIKE 'graceful-%'`,
    );
    expect(n).toBe(BATCHES * PER_BATCH);
    // The dispatch in progress finished: no outbox row is left leased, every sent mail is marked sent.
    const [{ leased }] = await db.dataSource.query(
      `SELECT count(*)::int AS leased FROM outbox WHERE locked_until IS NOT NULL`,
    );
    expect(leased).toBe(0);
    const [{ sent }] = await db.dataSource.query(`SELECT count(*)::int AS sent FROM outbox WHERE status = 'sent'`);
    expect(sent).toBe(sink.mails.length);
  }, 90_000);
});
