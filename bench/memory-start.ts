import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { check, createDatabase, main, record, round, rssOf, rssSampler, startApp } from './lib';
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
    await record(
      'start time',
      {
        'embedded first start ms': `${first.ms} (app says ${first.reported})`,
        'embedded restart ms': `${restart.ms} (${restart.reported})`,
        'PostgreSQL first start ms': `${pgFirst.ms} (${pgFirst.reported})`,
        'PostgreSQL restart ms': `${pgRestart.ms} (${pgRestart.reported})`,
      },
      [
        check(`embedded first start <= 5 s (${round(first.ms / 1000)} s)`, first.ms <= 5000),
        check(`restart <= 2 s (${round(restart.ms / 1000)} s)`, restart.ms <= 2000),
      ].join('; '),
    );
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
      const peak = Math.max(...peaks);
      const growth = round(afters[REPEATS - 1] - afters[0]);
      await record(
        'memory',
        {
          'RSS at rest MB': rest,
          'peak per repeat MB': peaks.join('/'),
          'after each repeat MB': afters.join('/'),
          repeat: `${MAILS} mails x ${REPEATS}`,
        },
        [
          check(`RSS <= 300 MB under load (${peak})`, peak <= 300),
          check(`no growth across repeats (${growth >= 0 ? '+' : ''}${growth} MB)`, growth <= 20),
        ].join('; '),
      );
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
