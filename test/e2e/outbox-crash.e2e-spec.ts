import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAppProcess } from '../setup/app-process';
import { createTestDatabase, forEachDatabase, TestDatabase } from '../setup/database';
import { waitFor } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

const TOKEN = 'crash-test-inbound-token-0123';

/** The process dies (SIGKILL) after the commit and before the send: the mail still goes out, once. */
forEachDatabase('outbox across a crash', (kind) => {
  let db: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-crash-'));
  });
  afterAll(async () => {
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends the creation auto-reply exactly once after SIGKILL between commit and send', async () => {
    const sink = await SmtpSink.start();
    const port = sink.port;
    await sink.stop(); // SMTP is down when the request is created
    const env = {
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      SUPPORT_ADDRESS: 'support@desk.test',
      INBOUND_TOKEN: TOKEN,
      ADMIN_PASSWORD: 'admin-password-1',
      OUTBOX_POLL_MS: '100',
      // The first retry comes 2-6 s after the failed attempt: the kill lands while nothing holds the
      // row (a kill during an attempt leaves its 2-minute lease: README, outbox).
      OUTBOX_RETRY_BASE_MS: '4000',
    };
    const first = await startAppProcess(env);
    const raw =
      'From: lea@customer.test\r\nTo: support@desk.test\r\nSubject: crash\r\nMessage-ID: <crash@customer.test>\r\n\r\nHello\r\n';
    const res = await fetch(`${first.base}/inbound/mail`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'message/rfc822' },
      body: raw,
    });
    expect(res.status).toBe(200);
    // Committed, one failed attempt, and waiting for SMTP (not claimed by an attempt).
    await waitFor(async () => {
      const [row] = await db.dataSource.query(`SELECT attempts, locked_until FROM outbox WHERE kind = 'auto_reply'`);
      return row && row.attempts >= 1 && row.locked_until === null;
    });
    await first.kill();

    const restarted = await SmtpSink.start(port);
    const second = await startAppProcess(env);
    try {
      const mails = await restarted.waitFor(1, 15000);
      await new Promise((r) => setTimeout(r, 1500));
      expect(mails).toHaveLength(1);
      expect(mails[0].envelope.to).toEqual(['lea@customer.test']);
      const [row] = await db.dataSource.query(`SELECT status, sent_at FROM outbox WHERE kind = 'auto_reply'`);
      expect(row.status).toBe('sent');
    } finally {
      await second.stop();
      await restarted.stop();
    }
  }, 90000);
});
