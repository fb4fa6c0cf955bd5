import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nodemailer from 'nodemailer';
import { Client } from 'pg';
import { freePort } from '../test/setup/app-process';
import { postfixAvailable, startPostfix } from '../test/setup/postfix';
import { createDatabase, main, pct, record, round, runPool, startApp } from './lib';
import { dataSet, postAll } from './webhook-ingest';

const MAILS = Number(process.env.BENCH_SMTP_MAILS ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_SMTP_CONCURRENCY ?? 16);
const POSTFIX_MAILS = Number(process.env.BENCH_POSTFIX_MAILS ?? 100);
const SUPPORT = 'support@bench.test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends every mail over SMTP to the listener on `port`, `concurrency` connections (one per lane). */
async function sendAll(port: number, mails: { raw: Buffer; from: string }[], concurrency: number) {
  // One pool of `concurrency` SMTP connections, each reused for every mail it carries.
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: concurrency,
    maxMessages: Infinity,
  });
  const failures: string[] = [];
  const { latencies, seconds } = await runPool(mails.length, concurrency, async (i) => {
    try {
      const info = await transport.sendMail({
        envelope: { from: mails[i].from, to: [SUPPORT] },
        raw: mails[i].raw,
      });
      if (!/^250 /.test(info.response)) failures.push(`${i}: ${info.response}`);
    } catch (e) {
      failures.push(`${i}: ${(e as Error).message}`);
    }
  });
  transport.close();
  if (failures.length) throw new Error(`${failures.length} SMTP sends failed, e.g. ${failures.slice(0, 3).join('; ')}`);
  return { rate: round(mails.length / seconds), p50: round(pct(latencies, 50)), p99: round(pct(latencies, 99)) };
}

async function countStored(url: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query('SELECT count(*)::int AS n FROM inbound_mail')).rows[0].n as number;
  } finally {
    await c.end();
  }
}

/**
 * Issue 19's scenario: the same MAILS mails into a fresh database through the webhook (CONCURRENCY
 * HTTP connections) and, in the same run, through the SMTP listener (CONCURRENCY SMTP clients);
 * then Postfix in front of the LMTP listener: POSTFIX_MAILS mails handed to Postfix's smtpd one at a
 * time, each timed until it is committed (its row in inbound_mail).
 */
export async function smtpListener(): Promise<void> {
  const mails = dataSet(MAILS, MAILS / 4, 'smtp');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-'));
  const run = async (
    name: string,
    fn: (app: { base: string }, db: { url: string }, ports: { smtp: number; lmtp: number }) => Promise<void>,
  ) => {
    const db = await createDatabase(`bench_${name}`);
    const ports = { smtp: await freePort(), lmtp: await freePort() };
    const app = await startApp({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      SUPPORT_ADDRESS: SUPPORT,
      SMTP_LISTEN: `127.0.0.1:${ports.smtp}`,
      LMTP_LISTEN: `127.0.0.1:${ports.lmtp}`,
      SMTP_MAX_CONNECTIONS_PER_IP: '64',
    });
    try {
      await fn(app, db, ports);
    } finally {
      await app.stop();
      await db.drop();
    }
  };
  try {
    let webhook = { rate: 0, p50: 0, p99: 0 };
    await run('smtp_webhook', async (app) => {
      webhook = await postAll(app.base, mails, CONCURRENCY);
    });
    let smtp = { rate: 0, p50: 0, p99: 0 };
    await run('smtp_listener', async (_app, db, ports) => {
      smtp = await sendAll(ports.smtp, mails, CONCURRENCY);
      const stored = await countStored(db.url);
      if (stored !== mails.length) throw new Error(`SMTP: ${stored} of ${mails.length} stored`);
    });
    const figures = [
      { metric: 'mails', value: mails.length },
      { metric: 'concurrency', value: CONCURRENCY },
      { metric: 'webhook_emails_per_s', value: webhook.rate },
      { metric: 'smtp_emails_per_s', value: smtp.rate },
      { metric: 'smtp_p50_ms', value: smtp.p50 },
      { metric: 'smtp_p99_ms', value: smtp.p99 },
      { metric: 'smtp_pct_of_webhook', value: Math.round((smtp.rate / webhook.rate) * 100), target: '>=80' as const },
    ];
    if (postfixAvailable()) {
      await run('smtp_postfix', async (_app, db, ports) => {
        const postfix = await startPostfix({ transports: { 'bench.test': `lmtp:inet:127.0.0.1:${ports.lmtp}` } });
        const latencies: number[] = [];
        try {
          for (let i = 0; i < POSTFIX_MAILS; i++) {
            const t0 = performance.now();
            await postfix.send({ from: mails[i].from, to: [SUPPORT], raw: mails[i].raw });
            for (const end = Date.now() + 30_000; (await countStored(db.url)) < i + 1; await sleep(5))
              if (Date.now() > end) throw new Error(`mail ${i} not committed 30 s after Postfix took it`);
            latencies.push(performance.now() - t0);
          }
        } finally {
          await postfix.stop();
        }
        figures.push(
          { metric: 'postfix_mails', value: POSTFIX_MAILS },
          { metric: 'postfix_to_committed_p50_ms', value: round(pct(latencies, 50)) },
          { metric: 'postfix_to_committed_p99_ms', value: round(pct(latencies, 99)) },
        );
      });
    } else console.warn('postfix is not installed (or not root): the Postfix latency is skipped');
    await record('SMTP listener', figures);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main(typeof module === 'object' ? module : undefined, () => smtpListener());
