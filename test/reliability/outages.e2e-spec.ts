import * as fs from 'node:fs';
import { AppProcess } from '../setup/app-process';
import { removeBuiltApp, startBuiltApp } from './support/app';
import { dovecotAvailable, rawMail as imapMail, startDovecot, TestDovecot } from '../setup/dovecot';
import { SmtpSink } from '../setup/smtp-sink';
import { countBy, deliveriesByMessageId } from './support/counting';
import { appEnv, plainMail, postUntilAccepted, report, sleep, tempDir, TOKEN, until, variant } from './support/harness';
import { PgCluster, startPgCluster } from './support/pg-cluster';
import { query } from './support/query';

const PG_DOWN_MS = variant(5000, 20000);
const SMTP_DOWN_MS = variant(10000, 60000);
const IMAP_MAILS = variant(60, 300);
/** "Recovers by itself within seconds": the first 200 after PostgreSQL is back. */
const RECOVERY_BOUND_MS = 10000;

/**
 * Item 8: the app (built, as a child process) runs on its own throwaway PostgreSQL cluster, which
 * this file stops and starts under load; then SMTP is down for a while (short: 10 s, long: 60 s),
 * then Dovecot restarts during an import. Nothing acknowledged is lost, nothing is stored or sent
 * twice, and every outage heals without a restart of the app. PostgreSQL only: its first act stops
 * the database server, which the embedded database (inside the app's process) has no counterpart
 * of; IMAP and the outbox on the embedded database are covered by test/e2e/embedded-imap.e2e-spec.ts
 * and the forEachDatabase suites (crash, load, hostile mail, mail loop, imap-*, outbound-*).
 */
const maybe = dovecotAvailable() ? describe : describe.skip;
maybe('outages of PostgreSQL, SMTP and IMAP', () => {
  let pg: PgCluster;
  let dbUrl: string;
  let dovecot: TestDovecot;
  let sink: SmtpSink;
  let dataDir: string;
  let app: AppProcess;
  beforeAll(async () => {
    pg = await startPgCluster();
    dbUrl = await pg.createDatabase('maildesk_reliability');
    dovecot = await startDovecot();
    sink = await SmtpSink.start();
    dataDir = tempDir('outages');
    app = await startBuiltApp(
      appEnv({
        DATABASE_URL: dbUrl,
        DATA_DIR: dataDir,
        SMTP_URL: sink.url,
        IMAP_URL: dovecot.url(),
        IMAP_POLL_SECONDS: '1',
        OUTBOX_RETRY_BASE_MS: '100',
        OUTBOX_MAX_ATTEMPTS: '30',
      }),
    );
  }, 120000);
  afterAll(async () => {
    await app?.stop();
    await sink?.stop();
    await dovecot?.stop();
    pg?.destroy();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    removeBuiltApp();
  });

  /** Message-IDs of incoming messages, with how often each is stored. */
  async function storedInbound(): Promise<Map<string, number>> {
    return countBy(
      await query<{ key: string }>(dbUrl, `SELECT message_id AS key FROM messages WHERE direction = 'in'`),
    );
  }

  it('answers 503 while PostgreSQL is down, recovers by itself within seconds and loses nothing acknowledged', async () => {
    let loadOn = true;
    let next = 0;
    const acked: string[] = [];
    const statuses = new Map<number, number>();
    let firstOkAfterUp = 0;
    let upAt = 0;
    const failures: string[] = [];
    const senders = Array.from({ length: 8 }, async () => {
      while (loadOn) {
        const i = next++;
        const id = `pg-${i}@load.test`;
        const seen = await postUntilAccepted(
          () => app.base,
          plainMail({ from: `pg${i}@customer.test`, subject: `pg ${i}`, messageId: id }),
        );
        for (const o of seen) statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
        if (upAt && !firstOkAfterUp) firstOkAfterUp = Date.now();
        acked.push(id);
      }
    }).map((p) => p.catch((e: Error) => void failures.push(e.message)));

    await sleep(variant(2000, 5000));
    pg.stop();
    const downAt = Date.now();
    // Answers that were on their way when the server went down are counted before it.
    await sleep(500);
    const ackedBeforeDown = acked.length;
    // A probe while it is down: 503 with Retry-After, fast.
    await sleep(500);
    const probe = await fetch(`${app.base}/inbound/mail`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'message/rfc822' },
      body: plainMail({ from: 'probe@customer.test', subject: 'probe', messageId: 'probe@load.test' }),
    });
    expect(probe.status).toBe(503);
    expect(probe.headers.get('retry-after')).toBeTruthy();
    await sleep(PG_DOWN_MS - 1000);
    const ackedWhileDown = acked.length;
    pg.start();
    upAt = Date.now();
    await until('a 200 after PostgreSQL is back', async () => firstOkAfterUp > 0, 30000, 50);
    const recoveryMs = firstOkAfterUp - upAt;
    await sleep(2000);
    loadOn = false;
    await Promise.all(senders);
    expect(failures).toEqual([]);

    const stored = await storedInbound();
    const lost = acked.filter((id) => stored.get(id) !== 1);
    expect(lost).toEqual([]);
    // Only 200 and 503 were ever answered; the app never stopped answering.
    expect([...statuses.keys()].sort()).toEqual([200, 503]);
    expect(app.proc.exitCode).toBeNull();
    expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);
    // Never a 200 while nothing could be stored.
    expect(ackedWhileDown).toBe(ackedBeforeDown);
    report('postgres-restart', {
      downSeconds: Math.round((upAt - downAt) / 1000),
      acknowledged: acked.length,
      acknowledgedBeforeDown: ackedBeforeDown,
      acknowledgedWhileDown: ackedWhileDown - ackedBeforeDown,
      answered503: statuses.get(503) ?? 0,
      recoveryMs,
      lost: lost.length,
    });
  }, 180000);

  it('delivers every auto-reply once after an SMTP outage', async () => {
    const [{ n: before }] = await query<{ n: number }>(
      dbUrl,
      `SELECT count(*)::int AS n FROM messages WHERE kind = 'auto_reply'`,
    );
    await sink.stop();
    const downAt = Date.now();
    const ids: string[] = [];
    let i = 0;
    while (Date.now() - downAt < SMTP_DOWN_MS) {
      const id = `smtp-${i}@load.test`;
      await postUntilAccepted(
        () => app.base,
        plainMail({ from: `smtp${i}@customer.test`, subject: `smtp ${i}`, messageId: id }),
      );
      ids.push(id);
      i++;
      await sleep(SMTP_DOWN_MS / 20);
    }
    const sentBefore = sink.mails.length;
    await sink.restart();
    const upAt = Date.now();
    const replies = await query<{ message_id: string }>(
      dbUrl,
      `SELECT m.message_id FROM messages m JOIN messages c ON c.request_id = m.request_id AND c.direction = 'in'
        WHERE m.kind = 'auto_reply' AND c.message_id = ANY($1)`,
      [ids],
    );
    expect(replies).toHaveLength(ids.length);
    const wanted = replies.map((r) => r.message_id);
    await until(
      'every auto-reply of the outage delivered',
      async () => {
        const d = deliveriesByMessageId(sink.mails);
        return wanted.every((id) => d.has(id));
      },
      variant(60000, 150000),
      200,
    );
    const deliveredAfterMs = Date.now() - upAt;
    await sleep(1500);
    const d = deliveriesByMessageId(sink.mails);
    const twice = wanted.filter((id) => d.get(id) !== 1);
    expect(twice).toEqual([]);
    const outbox = await query<{ status: string; n: number }>(
      dbUrl,
      `SELECT o.status, count(*)::int AS n FROM outbox o JOIN messages m ON m.id = o.message_id WHERE m.message_id = ANY($1) GROUP BY o.status`,
      [wanted],
    );
    expect(outbox).toEqual([{ status: 'sent', n: wanted.length }]);
    report('smtp-outage', {
      downSeconds: Math.round((upAt - downAt) / 1000),
      requestsDuringOutage: ids.length,
      autoRepliesBefore: before,
      deliveredBeforeRestart: sentBefore,
      allDeliveredWithinMs: deliveredAfterMs,
      deliveredTwice: twice.length,
    });
  }, 240000);

  it('imports every mailbox mail once across a Dovecot restart', async () => {
    const ids = Array.from({ length: IMAP_MAILS }, (_, j) => `dove-${j}@load.test`);
    const raws = ids.map((id, j) =>
      imapMail({ from: `dove${j}@customer.test`, subject: `dovecot ${j}`, messageId: id }),
    );
    const half = Math.floor(raws.length / 2);
    await dovecot.appendMany('support@example.test', raws.slice(0, half));
    // Restart while the first half is being imported.
    await until(
      'the import to start',
      async () => {
        const s = await storedInbound();
        return ids.some((id) => s.has(id));
      },
      30000,
      50,
    );
    await dovecot.restart();
    const restartedAt = Date.now();
    await dovecot.appendMany('support@example.test', raws.slice(half));
    await until(
      'every mailbox mail imported',
      async () => {
        const s = await storedInbound();
        return ids.every((id) => s.has(id));
      },
      90000,
      250,
    );
    const importedWithinMs = Date.now() - restartedAt;
    await sleep(2500); // a second import pass would show up now
    const s = await storedInbound();
    expect(ids.filter((id) => s.get(id) !== 1)).toEqual([]);
    report('dovecot-restart', { mails: ids.length, allImportedWithinMsOfRestart: importedWithinMs, storedTwice: 0 });
  }, 180000);
});
