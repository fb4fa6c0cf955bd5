import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmtpSink } from '../test/setup/smtp-sink';
import { startDovecot } from '../test/setup/dovecot';
import { makeMail, planMails } from './emails';
import { createDatabase, hasDovecot, login, main, pct, record, rng, round, rssOf, startApp, type Target } from './lib';

const MAILBOXES = Number(process.env.BENCH_MAILBOXES ?? 20);
const MAILS_PER_MAILBOX = Number(process.env.BENCH_MAILS_PER_MAILBOX ?? 10);
/** How long after the start both RSS readings are taken (start-up garbage settles alike in both). */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 20_000);
const user = (i: number) => `mb${String(i + 1).padStart(2, '0')}@example.test`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Established TCP connections from process `pid` to `port` on this machine (`ss`). */
function connectionsTo(pid: number, port: number): number {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(`pid=${pid},`)).length;
}

/** The median RSS of `pid` over `ms`, sampled every 250 ms (one sample is noisy). */
async function settledRss(pid: number, ms = 5_000): Promise<number> {
  const samples: number[] = [];
  for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) samples.push(rssOf(pid).rss);
  return pct(samples, 50);
}

/**
 * Scenario 7 (issue 18): 20 mailboxes on one instance, each its own Dovecot account and its own
 * SMTP transport (one in-process sink). Measures the RSS one idle polled mailbox costs (idle app
 * with no mailbox polled, then with 20, each in IDLE), the IMAP connections the app holds, and
 * mail-to-reply latency per mailbox: mails APPENDed 50-500 ms apart to mailboxes in random order,
 * each timed from APPEND to its creation auto-reply at the SMTP server.
 */
export async function manyMailboxes(): Promise<void> {
  if (!hasDovecot()) throw new Error('dovecot is not installed (apt-get install -y dovecot-imapd)');
  const users = Object.fromEntries(Array.from({ length: MAILBOXES }, (_, i) => [user(i), `pw-${i}`]));
  const dovecot = await startDovecot({ users });
  const sink = await SmtpSink.start();
  const db = await createDatabase('bench_mailboxes');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-'));
  const arrived = new Map<string, number>();
  const push = sink.mails.push.bind(sink.mails);
  sink.mails.push = (...items) => {
    const now = performance.now();
    for (const m of items) arrived.set(String(m.parsed.inReplyTo ?? '').replace(/[<>]/g, ''), now);
    return push(...items);
  };
  const clients: Awaited<ReturnType<typeof dovecot.client>>[] = [];
  const env = { DATABASE_URL: db.url, DATA_DIR: dataDir, IMAP_IDLE: 'true', SMTP_URL: sink.url };
  try {
    // Run 1: the app with no mailbox polled (RSS after SETTLE_MS), then the 20 mailboxes added
    // through the API, timed until each has its IMAP session.
    let idleRss: number;
    let allPolledS: number;
    {
      const app = await startApp(env);
      try {
        const token = await login(app.base);
        const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
        await sleep(SETTLE_MS);
        idleRss = await settledRss(app.proc.pid!);
        const t0 = performance.now();
        for (let i = 0; i < MAILBOXES; i++) {
          const res = await fetch(`${app.base}/mailboxes`, {
            method: 'POST',
            headers,
            body: JSON.stringify({
              name: `Mailbox ${i + 1}`,
              address: user(i),
              imapUrl: dovecot.url(user(i)),
              smtpUrl: sink.url,
            }),
          });
          if (res.status !== 201) throw new Error(`POST /mailboxes: ${res.status} ${await res.text()}`);
        }
        let n = 0;
        for (const end = Date.now() + 60_000; Date.now() < end && n < MAILBOXES; await sleep(100))
          n = connectionsTo(app.proc.pid!, dovecot.port);
        if (n < MAILBOXES) throw new Error(`only ${n} IMAP sessions 60 s after adding ${MAILBOXES} mailboxes`);
        allPolledS = round((performance.now() - t0) / 1000, 2);
      } finally {
        await app.stop();
      }
    }
    // Run 2: the same app started with the 20 mailboxes: RSS after the same SETTLE_MS (the
    // difference over 20 is one idle polled mailbox's cost), then the latency per mailbox.
    const app = await startApp(env);
    try {
      await sleep(SETTLE_MS);
      const busyRss = await settledRss(app.proc.pid!);
      const connections = connectionsTo(app.proc.pid!, dovecot.port);

      for (let i = 0; i < MAILBOXES; i++) clients.push(await dovecot.client(user(i)));
      const total = MAILBOXES * MAILS_PER_MAILBOX;
      const plan = planMails(total, total, 11);
      const random = rng(7);
      const order = Array.from({ length: total }, (_, i) => i % MAILBOXES).sort(() => random() - 0.5);
      const sent = new Map<string, { at: number; mailbox: number; i: number }>();
      for (let i = 0; i < total; i++) {
        const mailbox = order[i];
        const mail = makeMail(plan, i, `mbx${mailbox}`, 0);
        sent.set(mail.messageId, { at: performance.now(), mailbox, i });
        await clients[mailbox].append('INBOX', mail.raw);
        await sleep(50 + random() * 450);
      }
      for (const end = Date.now() + 60_000; arrived.size < total && Date.now() < end;) await sleep(100);
      const per = Array.from({ length: MAILBOXES }, () => [] as number[]);
      for (const [id, s] of sent) {
        if (!arrived.has(id)) continue;
        const ms = arrived.get(id)! - s.at;
        per[s.mailbox].push(ms);
        if (ms > 2000) console.log(`slow: mail ${s.i} to ${user(s.mailbox)} took ${round(ms)} ms (${id})`);
      }
      const all = per.flat();
      if (all.length < total) throw new Error(`only ${all.length} of ${total} auto-replies arrived`);
      const p50s = per.map((l) => pct(l, 50));
      const p99s = per.map((l) => pct(l, 99));
      console.log(
        per
          .map((l, i) => `${user(i)}: p50 ${round(p50s[i])} ms, p99 ${round(p99s[i])} ms (${l.length} mails)`)
          .join('\n'),
      );
      await record('20 mailboxes', [
        { metric: 'mailboxes', value: MAILBOXES },
        { metric: 'mails', value: total },
        { metric: 'all_polled_s', value: allPolledS },
        { metric: 'imap_connections', value: connections, target: `<=${MAILBOXES}` as Target },
        { metric: 'idle_rss_mb', value: round(idleRss) },
        { metric: 'rss_mb', value: round(busyRss) },
        { metric: 'rss_per_idle_mailbox_mb', value: round((busyRss - idleRss) / MAILBOXES, 2) },
        { metric: 'p50_ms', value: round(pct(all, 50)) },
        { metric: 'p99_ms', value: round(pct(all, 99)) },
        { metric: 'worst_mailbox_p50_ms', value: round(Math.max(...p50s)), target: '<=1000' },
        { metric: 'worst_mailbox_p99_ms', value: round(Math.max(...p99s)), target: '<=2000' },
      ]);
    } finally {
      await Promise.all(clients.map((c) => c.logout().catch(() => undefined)));
      if (process.env.BENCH_SHOW_LOG)
        console.log(
          app
            .output()
            .split('\n')
            .filter((l) => /WARN|ERROR|warn|error/.test(l))
            .slice(-40)
            .join('\n'),
        );
      await app.stop();
    }
  } finally {
    await sink.stop();
    await dovecot.stop();
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main(typeof module === 'object' ? module : undefined, () => manyMailboxes());
