import fc from 'fast-check';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess } from '../setup/app-process';
import { createTestDatabase, forEachDatabase, TestDatabase } from '../setup/database';
import { SmtpSink } from '../setup/smtp-sink';
import { removeBuiltApp, startBuiltApp } from './support/app';
import { appEnv, postMail, PostOutcome, report, rssMb, sleep, tempDir, variant } from './support/harness';
import { extremeMails, mutate, mutations, seedMails, withMessageId } from './support/hostile';

const RUNS = variant(300, 5000);
/** Largest email accepted in this test: room for the 20 MB zip-bomb-like attachment. */
const MAX_BYTES = 32 * 1024 * 1024;
/** The app's resident memory must stay below this whatever it is sent. */
const RSS_LIMIT_MB = 1024;
/** Each email must be answered within this (a hang is a failure). */
const ANSWER_MS = 30000;

/**
 * Item 9: mutated real emails (fast-check) and hand-made hostile ones through the webhook of the
 * built app: never a 5xx, never a crash or hang, memory bounded, and every email is kept in
 * inbound_mail (stored or quarantined) or answered `duplicate` of one that is.
 */
forEachDatabase('hostile mail through the webhook', (kind) => {
  let db: TestDatabase;
  let sink: SmtpSink;
  let dataDir: string;
  let app: AppProcess;
  let maxRss = 0;
  let baselineRss = 0;
  const statuses = new Map<string, number>();
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    sink = await SmtpSink.start();
    dataDir = tempDir('hostile');
    app = await startBuiltApp(
      appEnv({
        DATABASE_URL: db.url,
        DATA_DIR: dataDir,
        SMTP_URL: sink.url,
        INBOUND_MAX_BYTES: String(MAX_BYTES),
        LOG_LEVEL: 'log',
      }),
    );
    baselineRss = rssMb(app);
  }, 120000);
  afterAll(async () => {
    await app?.stop();
    await sink?.stop();
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    removeBuiltApp();
  });

  /** Keeps an input that broke the app, for the report. */
  function keep(raw: Buffer, what: string): string {
    const file = path.join(
      os.tmpdir(),
      `maildesk-hostile-${crypto.createHash('sha256').update(raw).digest('hex').slice(0, 12)}.eml`,
    );
    fs.writeFileSync(file, raw);
    return `${what} (input saved to ${file})`;
  }

  /** Posts one email and checks the answer and what inbound_mail holds for it. */
  async function check(raw: Buffer, name: string): Promise<PostOutcome> {
    const o = await postMail(app.base, raw, ANSWER_MS);
    maxRss = Math.max(maxRss, rssMb(app));
    if (app.proc.exitCode !== null || app.proc.signalCode !== null) {
      throw new Error(keep(raw, `the app died on ${name}:\n${app.output().slice(-3000)}`));
    }
    if (o.status !== 200)
      throw new Error(keep(raw, `${name}: answered ${o.status || o.error} ${JSON.stringify(o.body)} after ${o.ms} ms`));
    const result = o.body?.results?.[0];
    if (!result) throw new Error(keep(raw, `${name}: no result in ${JSON.stringify(o.body)}`));
    statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
    const hash = crypto.createHash('sha256').update(raw).digest('hex');
    if (result.status === 'duplicate') {
      const rows = await db.dataSource.query(`SELECT 1 FROM inbound_mail WHERE dedupe_key = $1 OR dedupe_key = $2`, [
        `sha256:${hash}`,
        result.messageId ?? '',
      ]);
      if (!rows.length) throw new Error(keep(raw, `${name}: answered duplicate of nothing stored`));
    } else {
      // A copy of an already quarantined mail (same Message-ID) counts as another attempt on
      // that row, which keeps the first copy's bytes.
      const rows: Array<{ status: string }> = await db.dataSource.query(
        `SELECT status FROM inbound_mail WHERE (size = $1 AND raw_sha256 = $2)
            OR ($3 = 'quarantined' AND dedupe_key = $4 AND status = 'quarantined')`,
        [raw.length, hash, result.status, result.messageId ?? ''],
      );
      const expected = result.status;
      if (rows.length !== 1 || rows[0].status !== expected) {
        throw new Error(keep(raw, `${name}: answered ${result.status} but inbound_mail holds ${JSON.stringify(rows)}`));
      }
    }
    expect(maxRss).toBeLessThan(RSS_LIMIT_MB);
    return o;
  }

  it('keeps or quarantines every hand-made hostile email without a 5xx, a hang or unbounded memory', async () => {
    const times: Record<string, string> = {};
    for (const m of extremeMails()) {
      const o = await check(m.raw, m.name);
      times[m.name] = `${o.body!.results![0].status} in ${o.ms} ms, ${(m.raw.length / 1048576).toFixed(1)} MB`;
    }
    report('hostile-extremes', { ...times, maxRssMb: maxRss, baselineRssMb: baselineRss });
  }, 300000);

  it('keeps or quarantines every mutated real email without a 5xx, a hang or unbounded memory', async () => {
    const seeds = seedMails();
    expect(seeds.length).toBeGreaterThan(10);
    let n = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.nat(seeds.length - 1), mutations, fc.boolean(), async (which, muts, freshId) => {
        const seed = seeds[which];
        const base = freshId
          ? withMessageId(seed.raw, `fuzz-${n++}-${crypto.randomBytes(4).toString('hex')}@fuzz.test`)
          : seed.raw;
        const raw = muts.reduce(mutate, base);
        await check(raw, `${seed.name} with ${JSON.stringify(muts)}`);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    await sleep(3000);
    const settled = rssMb(app);
    const live = await fetch(`${app.base}/health/live`);
    expect(live.status).toBe(200);
    report('hostile-fuzz', {
      runs: RUNS,
      seeds: seeds.length,
      seconds: Math.round((Date.now() - started) / 1000),
      results: Object.fromEntries(statuses),
      baselineRssMb: baselineRss,
      maxRssMb: maxRss,
      settledRssMb: settled,
    });
  }, 900000);
});
