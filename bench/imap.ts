import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import { Client } from 'pg';
import { SmtpSink } from '../test/setup/smtp-sink';
import { rawMail, startDovecot, SUPPORT_USER, TestDovecot } from '../test/setup/dovecot';
import { BenchMail, makeMail, planMails } from './emails';
import { createDatabase, hasDovecot, main, pct, record, rng, round, RUNS_FILE, startApp } from './lib';
import { readRuns } from './runs';
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

/** The webhook rate of the same `npm run bench` run, else the latest one recorded in bench/results/runs.csv. */
function webhookRate(given?: number): number | undefined {
  if (given) return given;
  if (process.env.BENCH_WEBHOOK_RATE) return Number(process.env.BENCH_WEBHOOK_RATE);
  const rates = readRuns(RUNS_FILE).filter((r) => r.bench === 'webhook ingest' && r.metric === 'app_emails_per_s');
  return rates.at(-1)?.value;
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
    await record('IMAP ingest', [
      { metric: 'mails', value: mails.length },
      { metric: 'stored_s', value: round(seconds) },
      { metric: 'start_s', value: round((ready - t0) / 1000) },
      { metric: 'msgs_per_s', value: rate },
      { metric: 'ceiling_msgs_per_s', value: ceiling },
      { metric: 'ceiling_pct', value: Math.round((rate / ceiling) * 100) },
      ...(webhook
        ? [
            { metric: 'webhook_emails_per_s', value: webhook },
            { metric: 'webhook_pct', value: Math.round(ratio * 100), target: '>=80' as const },
          ]
        : []),
    ]);
  } finally {
    await dovecot.stop();
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * When Dovecot announces each message to a session that idles on the mailbox (by sequence number:
 * the bench only appends, nothing is expunged): the server's own share of the latency.
 */
async function announcements(dovecot: TestDovecot): Promise<{ at: number[]; stop: () => Promise<void> }> {
  const observer = await dovecot.client(SUPPORT_USER);
  const at: number[] = [];
  observer.on('exists', (e: { count: number; prevCount: number }) => {
    const now = performance.now();
    for (let n = e.prevCount; n < e.count; n++) at[n] ??= now;
  });
  await observer.mailboxOpen('INBOX');
  void observer.idle().catch(() => undefined);
  return { at, stop: () => observer.logout().catch(() => undefined) };
}

/** IMAP_NOOP_MS of the second mail-to-reply run (BENCH_LATENCY_NOOP_MS; 0: that run is skipped). */
export const LATENCY_NOOP_MS = Number(process.env.BENCH_LATENCY_NOOP_MS ?? 100);

/**
 * Scenario 4: APPEND -> creation auto-reply at the SMTP server, one mail at a time, IDLE on (or,
 * with `noopMs`, a NOOP every that many ms instead: IMAP_NOOP_MS, recorded as a bench of its own). A first
 * mail warms the app up (its latency is recorded apart as first_ms: a process's first mail loads
 * the parser threads and the SMTP connection); an IMAP session idling beside the app's tells when
 * Dovecot announces each mail (notice_*_ms: the server's share, which the app cannot cut).
 */
export async function mailToReply(noopMs = 0): Promise<void> {
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
      ...(noopMs ? { IMAP_NOOP_MS: String(noopMs) } : {}),
      SMTP_URL: sink.url,
    });
    const plan = planMails(LATENCY_MAILS, LATENCY_MAILS, 7);
    const random = rng(99);
    const sent = new Map<string, number>();
    const client = await dovecot.client(SUPPORT_USER);
    const announced = await announcements(dovecot);
    let first = NaN;
    try {
      await new Promise((r) => setTimeout(r, 1000)); // the poller is connected and idling
      const warm = rawMail({ from: 'warm-up@bench.example', subject: 'Warm-up', messageId: 'warm-up@bench.example' });
      const warmSent = performance.now();
      await client.append('INBOX', warm);
      while (!arrived.has('warm-up@bench.example') && performance.now() - warmSent < 60_000)
        await new Promise((r) => setTimeout(r, 20));
      first = (arrived.get('warm-up@bench.example') ?? NaN) - warmSent;
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < LATENCY_MAILS; i++) {
        const mail = makeMail(plan, i, 'lat', 0);
        sent.set(mail.messageId, performance.now());
        await client.append('INBOX', mail.raw);
        await new Promise((r) => setTimeout(r, 50 + random() * 450));
      }
      const deadline = Date.now() + 60_000;
      while (arrived.size < LATENCY_MAILS + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await announced.stop();
      await client.logout();
      await app.stop();
    }
    const latencies = [...sent].filter(([id]) => arrived.has(id)).map(([id, t]) => arrived.get(id)! - t);
    if (latencies.length < LATENCY_MAILS)
      throw new Error(`only ${latencies.length} of ${LATENCY_MAILS} auto-replies arrived`);
    // The quantiles draw the distribution (bench/results/mail-to-reply.svg); the targets are p50 and p99.
    const q = (p: number) => round(pct(latencies, p));
    // Message n (1-based) of the mailbox: the warm-up is 1, the i-th measured mail i + 2.
    const notices = [...sent.values()].map((t, i) => (announced.at[i + 1] ?? NaN) - t).filter(Number.isFinite);
    await record(noopMs ? `mail-to-reply latency (IMAP_NOOP_MS=${noopMs})` : 'mail-to-reply latency', [
      { metric: 'mails', value: LATENCY_MAILS },
      { metric: 'min_ms', value: round(Math.min(...latencies)) },
      { metric: 'p10_ms', value: q(10) },
      { metric: 'p25_ms', value: q(25) },
      { metric: 'p50_ms', value: q(50), target: '<=250' },
      { metric: 'p75_ms', value: q(75) },
      { metric: 'p90_ms', value: q(90) },
      { metric: 'p99_ms', value: q(99), target: '<=500' },
      { metric: 'max_ms', value: round(Math.max(...latencies)) },
      { metric: 'first_ms', value: round(first) },
      // APPEND sent -> an idling session told of it: Dovecot announces a change 0.5 s after it sees it.
      { metric: 'notice_p50_ms', value: round(pct(notices, 50)) },
      { metric: 'notice_p99_ms', value: round(pct(notices, 99)) },
    ]);
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
  if (which === 'latency' || which === 'all') {
    await mailToReply();
    if (LATENCY_NOOP_MS) await mailToReply(LATENCY_NOOP_MS);
  }
});
