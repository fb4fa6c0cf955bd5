import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { ceilingIngest, toCeilingMail } from './ceiling-sql';
import { BenchMail, makeMail, planMails } from './emails';
import {
  appDir,
  createDatabase,
  main,
  migrate,
  pct,
  postMail,
  record,
  round,
  rssOf,
  rssSampler,
  runPool,
  startApp,
} from './lib';

const MAILS = Number(process.env.BENCH_MAILS ?? 20_000);
const SENDERS = Number(process.env.BENCH_SENDERS ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const POOL = Number(process.env.BENCH_POOL ?? 16);

/** The data set: every mail generated up front (seeded), so generation costs neither run. */
export function dataSet(count = MAILS, senders = SENDERS, tag = 'bench'): BenchMail[] {
  const plan = planMails(count, senders, 42);
  return Array.from({ length: count }, (_, i) => makeMail(plan, i, tag));
}

export interface IngestFigures {
  rate: number;
  p50: number;
  p99: number;
  seconds: number;
}

/** Posts every mail to a running app's webhook, `concurrency` connections; checks each answer. */
export async function postAll(base: string, mails: BenchMail[], concurrency = CONCURRENCY): Promise<IngestFigures> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const failures: string[] = [];
  const { latencies, seconds } = await runPool(mails.length, concurrency, async (i) => {
    const res = await postMail(base, mails[i].raw, agent);
    if (res.status !== 200 || !/"status":"(created|appended)"/.test(res.body))
      failures.push(`${i}: ${res.status} ${res.body.slice(0, 200)}`);
  });
  agent.destroy();
  if (failures.length)
    throw new Error(`${failures.length} webhook calls failed, e.g. ${failures.slice(0, 3).join('; ')}`);
  return {
    rate: round(mails.length / seconds),
    p50: round(pct(latencies, 50)),
    p99: round(pct(latencies, 99)),
    seconds: round(seconds),
  };
}

/** The SQL ceiling: the app's statements per mail straight through pg, pool of POOL, CONCURRENCY lanes. */
export async function sqlCeiling(mails: BenchMail[]): Promise<IngestFigures & { created: number }> {
  const db = await createDatabase('bench_ceiling');
  try {
    await migrate(db.url);
    const pool = new Pool({ connectionString: db.url, max: POOL });
    // Its clients are cut when the database is dropped after a failure: that failure is the one to see.
    pool.on('error', () => undefined);
    const prepared = mails.map(toCeilingMail);
    // The statements of the app snapshot the bench measures (its repositories' SQL exports).
    const ingest = ceilingIngest(appDir());
    let created = 0;
    const { latencies, seconds } = await runPool(prepared.length, CONCURRENCY, async (i) => {
      const c = await pool.connect();
      try {
        if (await ingest(c, prepared[i], i)) created++;
      } finally {
        c.release();
      }
    });
    await pool.end();
    return {
      rate: round(prepared.length / seconds),
      p50: round(pct(latencies, 50)),
      p99: round(pct(latencies, 99)),
      seconds: round(seconds),
      created,
    };
  } catch (e) {
    console.error('the SQL ceiling failed:', e);
    throw e;
  } finally {
    await db.drop();
  }
}

/** Rows the app stored, to check the run did what it claims. */
async function stored(url: string): Promise<{ requests: number; inbound: number; attachments: number }> {
  const pool = new Pool({ connectionString: url, max: 1 });
  const r = await pool.query(
    `SELECT (SELECT count(*) FROM requests)::int AS requests, (SELECT count(*) FROM messages WHERE direction = 'in')::int AS inbound,
            (SELECT count(*) FROM attachments)::int AS attachments`,
  );
  await pool.end();
  return r.rows[0];
}

/** Scenario 2: webhook ingest vs. its SQL ceiling (also gives the RSS figures of scenario 6). */
export async function webhookIngest(): Promise<{
  app: IngestFigures;
  ceiling: IngestFigures;
  rss: { rest: number; peak: number; after: number };
}> {
  console.log(`generating ${MAILS} mails from ${SENDERS} senders...`);
  const mails = dataSet();
  const mb = round(mails.reduce((s, m) => s + m.raw.length, 0) / 2 ** 20);
  console.log(`${mails.length} mails, ${mb} MB, ${mails.filter((m) => m.attachment).length} with a 100 KB attachment`);

  const db = await createDatabase('bench_webhook');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-'));
  let app: IngestFigures;
  let rss: { rest: number; peak: number; after: number };
  try {
    const proc = await startApp({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      DATABASE_POOL_SIZE: String(POOL),
      LOG_LEVEL: 'log',
    });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const rest = rssOf(proc.proc.pid!).rss;
      const sampler = rssSampler(proc.proc.pid!);
      console.log(`app: posting with ${CONCURRENCY} connections, pool ${POOL}...`);
      app = await postAll(proc.base, mails);
      const peak = sampler.stop();
      await new Promise((r) => setTimeout(r, 2000));
      rss = { rest, peak, after: rssOf(proc.proc.pid!).rss };
      const s = await stored(db.url);
      console.log(`stored: ${s.requests} requests, ${s.inbound} inbound messages, ${s.attachments} attachments`);
      if (s.inbound !== mails.length) throw new Error(`expected ${mails.length} inbound messages, found ${s.inbound}`);
    } finally {
      await proc.stop();
    }
  } finally {
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  console.log('ceiling: same SQL through pg...');
  const ceiling = await sqlCeiling(mails);
  const ratio = app.rate / ceiling.rate;
  await record('webhook ingest', [
    { metric: 'mails', value: MAILS },
    { metric: 'mail_mb', value: mb },
    { metric: 'senders', value: SENDERS },
    { metric: 'connections', value: CONCURRENCY },
    { metric: 'pool', value: POOL },
    { metric: 'app_emails_per_s', value: app.rate },
    { metric: 'app_p50_ms', value: app.p50 },
    { metric: 'app_p99_ms', value: app.p99 },
    { metric: 'ceiling_emails_per_s', value: ceiling.rate },
    { metric: 'ceiling_p50_ms', value: ceiling.p50 },
    { metric: 'ceiling_p99_ms', value: ceiling.p99 },
    { metric: 'ratio_pct', value: Math.round(ratio * 100), target: '>=50' },
    { metric: 'rss_rest_mb', value: rss.rest },
    { metric: 'rss_peak_mb', value: rss.peak, target: '<=300' },
    { metric: 'rss_after_mb', value: rss.after },
  ]);
  return { app, ceiling, rss };
}

main(typeof module === 'object' ? module : undefined, webhookIngest);
