import * as fs from 'node:fs';
import { AppProcess } from '../setup/app-process';
import { createTestDatabase, forEachDatabase, TestDatabase } from '../setup/database';
import { SmtpSink } from '../setup/smtp-sink';
import { removeBuiltApp, startBuiltApp } from './support/app';
import { adminToken, appEnv, plainMail, postUntilAccepted, report, sleep, tempDir } from './support/harness';

const LIMIT = 5;
/** The responder gives up after this many answers: far above any bound asserted here. */
const RESPONDER_CAP = 60;
/** The exchange counts as stopped after this long without a mail either way. */
const QUIET_MS = 4000;

type Style = 'auto-submitted' | 'bad';

/**
 * Item 11: a customer's mailbox answers every mail MailDesk sends it: once a proper auto-responder
 * (`Auto-Submitted: auto-replied`, In-Reply-To), once a badly behaved one (plain "Re: <subject>"
 * from the customer's address, no automatic header, no threading header). With and without an
 * operator who takes and closes every new request at once (each close mails the customer, and
 * the next answer opens a new request), the exchange stops by itself within the bounds below.
 */
forEachDatabase('mail loop with an auto-responder', (kind) => {
  let db: TestDatabase;
  let sink: SmtpSink;
  let dataDir: string;
  let app: AppProcess;
  let access: string;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    sink = await SmtpSink.start();
    dataDir = tempDir('loop');
    app = await startBuiltApp(
      appEnv({ DATABASE_URL: db.url, DATA_DIR: dataDir, SMTP_URL: sink.url, AUTO_REPLY_LIMIT_PER_HOUR: String(LIMIT) }),
    );
    access = await adminToken(app.base);
  }, 120000);
  afterAll(async () => {
    await app?.stop();
    await sink?.stop();
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    removeBuiltApp();
  });

  /** Answers every mail the sink receives for `customer`, in `style`; resolves with the counts once quiet. */
  async function exchange(
    customer: string,
    style: Style,
    operatorCloses: boolean,
  ): Promise<{ sent: number; answered: number; seconds: number }> {
    const started = Date.now();
    let seen = 0;
    let answered = 0;
    let lastActivity = Date.now();
    const ours = () => sink.mails.filter((m) => m.envelope.to.includes(customer));
    await postUntilAccepted(
      () => app.base,
      plainMail({ from: customer, subject: 'Printer on fire', messageId: `first-${customer}` }),
    );
    while (Date.now() - lastActivity < QUIET_MS) {
      const mails = ours();
      for (const mail of mails.slice(seen)) {
        seen++;
        lastActivity = Date.now();
        if (answered >= RESPONDER_CAP) continue;
        answered++;
        const subject = mail.parsed.subject ?? '';
        const raw =
          style === 'auto-submitted'
            ? plainMail({
                from: customer,
                subject: `Automatic reply: ${subject}`,
                messageId: `ooo-${answered}-${customer}`,
                headers: { 'Auto-Submitted': 'auto-replied', 'In-Reply-To': mail.parsed.messageId ?? '' },
                text: 'I am out of the office.',
              })
            : plainMail({
                from: customer,
                subject: `Re: ${subject}`,
                messageId: `re-${answered}-${customer}`,
                text: 'Thank you for your mail.',
              });
        await postUntilAccepted(() => app.base, raw);
      }
      if (operatorCloses) {
        if (await closeEveryNewRequest(customer)) lastActivity = Date.now();
      }
      await sleep(100);
    }
    return { sent: ours().length, answered, seconds: Math.round((Date.now() - started - QUIET_MS) / 100) / 10 };
  }

  /** The operator: takes and closes each new request of `customer`; true when it closed one. */
  async function closeEveryNewRequest(customer: string): Promise<boolean> {
    const headers = { authorization: `Bearer ${access}`, 'content-type': 'application/json' };
    const res = await fetch(`${app.base}/requests?status=new&customer=${encodeURIComponent(customer)}&limit=100`, {
      headers,
    });
    const list = (await res.json()) as { items: Array<{ id: number }> };
    for (const r of list.items) {
      await fetch(`${app.base}/requests/${r.id}/assign`, { method: 'POST', headers, body: '{}' });
      await fetch(`${app.base}/requests/${r.id}/close`, { method: 'POST', headers, body: '{}' });
    }
    return list.items.length > 0;
  }

  async function suppressed(customer: string): Promise<number> {
    const [{ n }] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM request_events e JOIN requests r ON r.id = e.request_id JOIN customers c ON c.id = r.customer_id
        WHERE c.email = $1 AND e.type = 'auto_reply_suppressed'`,
      [customer],
    );
    return n;
  }

  it('stops after one auto-reply when the responder marks its answers Auto-Submitted', async () => {
    const r = await exchange('ooo@customer.test', 'auto-submitted', false);
    expect(r.sent).toBe(1);
    expect(r.answered).toBe(1);
    report('loop-auto-submitted', r);
  }, 60000);

  it('stops after one auto-reply when a responder without automatic headers answers', async () => {
    const r = await exchange('plain@customer.test', 'bad', false);
    // Its answer lands on the open request, which never answers twice.
    expect(r.sent).toBe(1);
    expect(r.answered).toBe(1);
    report('loop-bad-responder', r);
  }, 60000);

  it('stops at the hourly limit when an operator closes every request the bad responder opens', async () => {
    const customer = 'closer@customer.test';
    const r = await exchange(customer, 'bad', true);
    expect(r.sent).toBeLessThanOrEqual(LIMIT);
    expect(r.answered).toBeLessThan(RESPONDER_CAP);
    expect(await suppressed(customer)).toBeGreaterThan(0);
    report('loop-bad-responder-operator-closes', { ...r, limitPerHour: LIMIT });
  }, 120000);

  it('stops at the hourly limit when an operator closes every request of an Auto-Submitted responder', async () => {
    const customer = 'ooo-closer@customer.test';
    const r = await exchange(customer, 'auto-submitted', true);
    expect(r.sent).toBeLessThanOrEqual(LIMIT);
    expect(r.answered).toBeLessThan(RESPONDER_CAP);
    report('loop-auto-submitted-operator-closes', { ...r, limitPerHour: LIMIT });
  }, 120000);
});
