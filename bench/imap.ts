import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import { Client } from 'pg';
import { SmtpSink } from '../test/setup/smtp-sink';
import { startDovecot, SUPPORT_USER, TestDovecot } from '../test/setup/dovecot';
import { BenchMail, makeMail, planMails } from './emails';
import { check, createDatabase, hasDovecot, main, pct, record, rng, ROOT, round, RUNS_FILE, startApp } from './lib';
import { dataSet } from './webhook-ingest';

const IMAP_MAILS = Number(process.env.BENCH_IMAP_MAILS ?? 5_000);
const LATENCY_MAILS = Number(process.env.BENCH_LATENCY_MAILS ?? 200);

/** APPENDs the mails over `lanes` connections (order within a lane kept). */
async function appendAll(dovecot: TestDovecot, mails: BenchMail[], lanes = 4): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      const c = await dovecot.client(SUPPORT_USER);
      try {
        while (next < mails.length) await c.append('INBOX', mails[next++].raw);
      } finally {
        await c.logout();
      }
    }),
  );
  return round((performance.now() - t0) / 1000);
}

/** The IMAP ceiling: imapflow fetching the whole mailbox and mailparser parsing it, no database. */
async function fetchParseCeiling(dovecot: TestDovecot, expected: number): Promise<number> {
  const c = await dovecot.client(SUPPORT_USER);
  const t0 = performance.now();
  let n = 0;
  try {
    const lock = await c.getMailboxLock('INBOX');
    try {
      for await (const msg of c.fetch('1:*', { uid: true, source: true }, { uid: true })) {
        await simpleParser(msg.source!);
        n++;
      }
    } finally {
      lock.release();
    }
  } finally {
    await c.logout();
  }
  if (n !== expected) throw new Error(`ceiling fetched ${n} of ${expected}`);
  return round(n / ((performance.now() - t0) / 1000));
}

async function count(url: string, sql: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows[0].n as number;
  } finally {
    await c.end();
  }
}

/** The webhook rate of the same `npm run bench` run, else the latest one recorded in bench/results/runs.md. */
function webhookRate(given?: number): number | undefined {
  if (given) return given;
  if (process.env.BENCH_WEBHOOK_RATE) return Number(process.env.BENCH_WEBHOOK_RATE);
  const file = RUNS_FILE;
  if (!fs.existsSync(file)) return undefined;
  const rows = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('| webhook ingest'));
  const m = /app emails\/s ([\d.]+)/.exec(rows[rows.length - 1] ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Scenario 3: import of a 5,000-message mailbox by the poller vs. fetch+parse alone. */
export async function imapIngest(sameRunWebhookRate?: number): Promise<void> {
  if (!hasDovecot()) throw new Error('dovecot is not installed (apt-get install -y dovecot-imapd)');
  const mails = dataSet(IMAP_MAILS, IMAP_MAILS / 4, 'imap');
  const dovecot = await startDovecot();
  const db = await createDatabase('bench_imap');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-'));
  try {
    const appendS = await appendAll(dovecot, mails);
    console.log(`appended ${mails.length} mails in ${appendS} s`);
    const ceiling = await fetchParseCeiling(dovecot, mails.length);
    console.log(`ceiling (fetch + parse): ${ceiling} msgs/s`);
    const t0 = performance.now();
    const app = await startApp({ DATABASE_URL: db.url, DATA_DIR: dataDir, IMAP_URL: dovecot.url(), IMAP_IDLE: 'true' });
    const ready = performance.now();
    let stored = 0;
    try {
      const deadline = Date.now() + 15 * 60_000;
      while (stored < mails.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        stored = await count(db.url, 'SELECT count(*)::int AS n FROM inbound_mail');
      }
    } finally {
      await app.stop();
    }
    if (stored < mails.length) throw new Error(`only ${stored} of ${mails.length} stored after 15 minutes`);
    const seconds = (performance.now() - ready) / 1000;
    const rate = round(mails.length / seconds);
    const webhook = webhookRate(sameRunWebhookRate);
    const ratio = webhook ? rate / webhook : NaN;
    await record(
      'IMAP ingest',
      {
        mails: mails.length,
        'stored in s': `${round(seconds)} (after a ${round((ready - t0) / 1000)} s start)`,
        'msgs/s': rate,
        'fetch+parse ceiling msgs/s': ceiling,
        'vs ceiling': `${Math.round((rate / ceiling) * 100)}%`,
        'webhook emails/s': webhook ?? 'n/a',
      },
      check(
        `>= 80% of the webhook rate (${Number.isNaN(ratio) ? 'no webhook figure' : `${Math.round(ratio * 100)}%`})`,
        ratio >= 0.8,
      ),
    );
  } finally {
    await dovecot.stop();
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Scenario 4: APPEND -> creation auto-reply at the SMTP server, one mail at a time, IDLE on. */
export async function mailToReply(): Promise<void> {
  if (!hasDovecot()) throw new Error('dovecot is not installed (apt-get install -y dovecot-imapd)');
  const dovecot = await startDovecot();
  const sink = await SmtpSink.start();
  const db = await createDatabase('bench_latency');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-'));
  // Arrival time per In-Reply-To, taken when the sink stores the mail.
  const arrived = new Map<string, number>();
  const push = sink.mails.push.bind(sink.mails);
  sink.mails.push = (...items) => {
    const now = performance.now();
    for (const m of items) arrived.set(String(m.parsed.inReplyTo ?? '').replace(/[<>]/g, ''), now);
    return push(...items);
  };
  try {
    const app = await startApp({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      IMAP_URL: dovecot.url(),
      IMAP_IDLE: 'true',
      SMTP_URL: sink.url,
    });
    const plan = planMails(LATENCY_MAILS, LATENCY_MAILS, 7);
    const random = rng(99);
    const sent = new Map<string, number>();
    const client = await dovecot.client(SUPPORT_USER);
    try {
      await new Promise((r) => setTimeout(r, 1000)); // the poller is connected and idling
      for (let i = 0; i < LATENCY_MAILS; i++) {
        const mail = makeMail(plan, i, 'lat', 0);
        sent.set(mail.messageId, performance.now());
        await client.append('INBOX', mail.raw);
        await new Promise((r) => setTimeout(r, 50 + random() * 450));
      }
      const deadline = Date.now() + 60_000;
      while (arrived.size < LATENCY_MAILS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.logout();
      await app.stop();
    }
    const latencies = [...sent].filter(([id]) => arrived.has(id)).map(([id, t]) => arrived.get(id)! - t);
    if (latencies.length < LATENCY_MAILS)
      throw new Error(`only ${latencies.length} of ${LATENCY_MAILS} auto-replies arrived`);
    const p50 = round(pct(latencies, 50));
    const p99 = round(pct(latencies, 99));
    await record(
      'mail-to-reply latency',
      { mails: LATENCY_MAILS, 'p50 ms': p50, 'p99 ms': p99, 'max ms': round(Math.max(...latencies)) },
      [check(`p50 <= 1 s (${p50})`, p50 <= 1000), check(`p99 <= 2 s (${p99})`, p99 <= 2000)].join('; '),
    );
  } finally {
    await sink.stop();
    await dovecot.stop();
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main(typeof module === 'object' ? module : undefined, async () => {
  const which = process.argv[2] ?? 'all';
  if (which === 'ingest' || which === 'all') await imapIngest();
  if (which === 'latency' || which === 'all') await mailToReply();
});
