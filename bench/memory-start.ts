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
): Promise<{ ms: number; reported: number; stop: () => Promise<unknown> }> {
  const t0 = performance.now();
  const app = await startApp(env);
  const ms = Math.round(performance.now() - t0);
  const reported = Number(/ready in (\d+) ms/.exec(app.output())?.[1] ?? NaN);
  return { ms, reported, stop: () => app.stop() };
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
    const start = (name: string, t: { ms: number; reported: number }, target?: Target): Figure[] => [
      { case: name, metric: 'wall_ms', value: t.ms, target },
      { case: name, metric: 'app_ms', value: t.reported },
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

/** Scenario 6b: RSS at rest, peak under webhook load and after, over three repeats on one process. */
export async function memory(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-'));
  const db = await createDatabase('bench_memory');
  try {
    const app = await startApp({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      DATABASE_POOL_SIZE: process.env.BENCH_POOL ?? '16',
    });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const pid = app.proc.pid!;
      const rest = rssOf(pid).rss;
      const peaks: number[] = [];
      const afters: number[] = [];
      for (let k = 0; k < REPEATS; k++) {
        const mails = dataSet(MAILS, MAILS / 4, `mem${k}`);
        const sampler = rssSampler(pid);
        await postAll(app.base, mails);
        peaks.push(sampler.stop());
        await new Promise((r) => setTimeout(r, 3000));
        afters.push(rssOf(pid).rss);
        console.log(`repeat ${k + 1}: peak ${peaks[k]} MB, after ${afters[k]} MB`);
      }
      const growth = round(afters[REPEATS - 1] - afters[0]);
      await record('memory', [
        { metric: 'mails_per_repeat', value: MAILS },
        { metric: 'rss_rest_mb', value: rest },
        ...peaks.flatMap((p, k): Figure[] => [
          { case: `repeat ${k + 1}`, metric: 'rss_peak_mb', value: p, target: '<=300' },
          { case: `repeat ${k + 1}`, metric: 'rss_after_mb', value: afters[k] },
        ]),
        { metric: 'growth_mb', value: growth, target: '<=20' },
      ]);
    } finally {
      await app.stop();
    }
  } finally {
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main(typeof module === 'object' ? module : undefined, async () => {
  // `start` or `memory` runs one half.
  if (process.argv[2] !== 'memory') await startTimes();
  if (process.argv[2] !== 'start') await memory();
});
