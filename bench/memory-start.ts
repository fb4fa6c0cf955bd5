import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createDatabase, type Figure, main, record, round, rssOf, rssSampler, startApp, type Target } from './lib';
import { dataSet, postAll } from './webhook-ingest';

const REPEATS = 3;
const MAILS = Number(process.env.BENCH_MEMORY_MAILS ?? 5_000);

/** Wall time from spawning `node dist/src/main.js` until it logs "ready", and the time it reports itself. */
async function timedStart(
  env: Record<string, string>,
): Promise<{ ms: number; reported: number; rest: number; stop: () => Promise<unknown> }> {
  const t0 = performance.now();
  const app = await startApp(env);
  const ms = Math.round(performance.now() - t0);
  const reported = Number(/ready in (\d+) ms/.exec(app.output())?.[1] ?? NaN);
  // The RSS at rest: 3 s after "ready", nothing asked of the app.
  await new Promise((r) => setTimeout(r, 3000));
  const rest = rssOf(app.proc.pid!).rss;
  return { ms, reported, rest, stop: () => app.stop() };
}

/** Scenario 6a: start times, embedded (first start and restart) and on PostgreSQL. */
export async function startTimes(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-'));
  const db = await createDatabase('bench_start');
  try {
    const first = await timedStart({ DATA_DIR: dataDir });
    await first.stop();
    const restart = await timedStart({ DATA_DIR: dataDir });
    await restart.stop();
    const pgFirst = await timedStart({ DATA_DIR: dataDir, DATABASE_URL: db.url });
    await pgFirst.stop();
    const pgRestart = await timedStart({ DATA_DIR: dataDir, DATABASE_URL: db.url });
    await pgRestart.stop();
    // Wall time from spawning to "ready", and the time the app itself reports (from its process's start).
    // The embedded database's at-rest RSS is a target (issue 23: <= 250 MB): PGlite is in the app's process.
    const start = (name: string, t: { ms: number; reported: number; rest: number }, target?: Target): Figure[] => [
      { case: name, metric: 'wall_ms', value: t.ms, target },
      { case: name, metric: 'app_ms', value: t.reported },
      { case: name, metric: 'rss_rest_mb', value: t.rest, target: name.startsWith('embedded') ? '<=250' : undefined },
    ];
    await record('start time', [
      ...start('embedded first start', first, '<=5000'),
      ...start('embedded restart', restart, '<=2000'),
      ...start('PostgreSQL first start', pgFirst),
      ...start('PostgreSQL restart', pgRestart),
    ]);
  } finally {
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Scenario 6b: RSS at rest, peak under webhook load and after, over three repeats on one process;
 * on PostgreSQL (REPEATS x MAILS) and on the embedded database (the default when DATABASE_URL is
 * unset: PGlite in the app's own process, so its WASM heap is in the app's RSS too; REPEATS x
 * EMBEDDED_MAILS, its ingest is one PostgreSQL session). Rest is read 3 s after "ready".
 */
export async function memory(): Promise<void> {
  if (DATABASES.includes('postgres')) {
    const db = await createDatabase('bench_memory');
    try {
      const env = { DATABASE_URL: db.url, DATABASE_POOL_SIZE: process.env.BENCH_POOL ?? '16' };
      await memoryOf('PostgreSQL', env, MAILS);
    } finally {
      await db.drop();
    }
  }
  if (DATABASES.includes('embedded')) await memoryOf('embedded', {}, EMBEDDED_MAILS);
}

/** Mails per repeat on the embedded database (its ingest runs on one PostgreSQL session). */
const EMBEDDED_MAILS = Number(process.env.BENCH_MEMORY_EMBEDDED_MAILS ?? 2_000);
/** BENCH_MEMORY_DATABASES: `postgres`, `embedded` or both (the default), comma-separated. */
const DATABASES = (process.env.BENCH_MEMORY_DATABASES ?? 'postgres,embedded').split(',');

async function memoryOf(
  database: 'PostgreSQL' | 'embedded',
  env: Record<string, string>,
  mails: number,
): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-'));
  try {
    const app = await startApp({ DATA_DIR: dataDir, ...env });
    try {
      await new Promise((r) => setTimeout(r, 3000));
      const pid = app.proc.pid!;
      const rest = rssOf(pid).rss;
      console.log(`${database}: at rest ${rest} MB`);
      const peaks: number[] = [];
      const afters: number[] = [];
      const rates: number[] = [];
      for (let k = 0; k < REPEATS; k++) {
        const set = dataSet(mails, mails / 4, `mem${k}`);
        const sampler = rssSampler(pid);
        rates.push((await postAll(app.base, set)).rate);
        peaks.push(sampler.stop());
        await new Promise((r) => setTimeout(r, 3000));
        afters.push(rssOf(pid).rss);
        console.log(`${database} repeat ${k + 1}: ${rates[k]} emails/s, peak ${peaks[k]} MB, after ${afters[k]} MB`);
      }
      const growth = round(afters[REPEATS - 1] - afters[0]);
      // The PostgreSQL rows keep their case-less names (runs.csv's history); the embedded ones say so.
      const c = database === 'embedded' ? 'embedded' : undefined;
      const of = (name: string) => (c ? `${c}, ${name}` : name);
      await record('memory', [
        { case: c, metric: 'mails_per_repeat', value: mails },
        { case: c, metric: 'rss_rest_mb', value: rest, target: database === 'embedded' ? '<=250' : undefined },
        ...peaks.flatMap((p, k): Figure[] => [
          { case: of(`repeat ${k + 1}`), metric: 'rss_peak_mb', value: p, target: '<=300' },
          { case: of(`repeat ${k + 1}`), metric: 'rss_after_mb', value: afters[k] },
          { case: of(`repeat ${k + 1}`), metric: 'emails_per_s', value: rates[k] },
        ]),
        { case: c, metric: 'growth_mb', value: growth, target: '<=20' },
      ]);
    } finally {
      await app.stop();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main(typeof module === 'object' ? module : undefined, async () => {
  // `start` or `memory` runs one half.
  if (process.argv[2] !== 'memory') await startTimes();
  if (process.argv[2] !== 'start') await memory();
});
