import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostileKinds, imageMallocEnv } from './hostile';
import { createDatabase, login, main, PG_BASE, postMail, startApp } from './lib';
import { dataSet, postAll } from './webhook-ingest';

const PROFILED = (profDir: string) => ({
  NODE_OPTIONS: `--require ${path.join(__dirname, 'cpu-prof-preload.js')}`,
  MAILDESK_CPU_PROF: path.join(profDir, 'app.cpuprofile'),
});

/** The app under webhook load (BENCH_MAILS mails). */
async function ingestLoad(profDir: string, dataDir: string): Promise<void> {
  const n = Number(process.env.BENCH_MAILS ?? 3000);
  const mails = dataSet(n, n / 4, 'prof');
  const db = await createDatabase('bench_profile');
  try {
    const app = await startApp({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      DATABASE_POOL_SIZE: '16',
      ...PROFILED(profDir),
    });
    const r = await postAll(app.base, mails);
    console.log(`${r.rate} emails/s p50 ${r.p50} p99 ${r.p99}`);
    await app.stop();
  } finally {
    await db.drop();
  }
}

/**
 * The app ingesting BENCH_MAILS (20) hostile mails of the kinds BENCH_HOSTILE_KINDS selects (as
 * bench:hostile does; all by default) on 2 connections, one after another on each.
 */
async function hostileLoad(profDir: string, dataDir: string): Promise<void> {
  const n = Number(process.env.BENCH_MAILS ?? 20);
  const kinds = hostileKinds();
  const db = await createDatabase('bench_profile');
  try {
    const app = await startApp({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      ...imageMallocEnv(),
      ...PROFILED(profDir),
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const t0 = performance.now();
    let next = 0;
    const statuses = new Map<number, number>();
    await Promise.all(
      [0, 1].map(async () => {
        for (let i = next++; i < n; i = next++) {
          const kind = kinds[i % kinds.length];
          const r = await postMail(app.base, kind.make(i), agent);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }
      }),
    );
    agent.destroy();
    console.log(
      `${n} hostile mails (${kinds.length} kinds) in ${Math.round(performance.now() - t0)} ms: ${JSON.stringify([...statuses])}`,
    );
    await app.stop();
  } finally {
    await db.drop();
  }
}

/** The app answering GET BENCH_PROFILE_URL at 10 connections for 10 s, on the queue database BENCH_QUEUE_DB. */
async function queueLoad(profDir: string, dataDir: string): Promise<void> {
  const name = process.env.BENCH_QUEUE_DB;
  if (!name) throw new Error('set BENCH_QUEUE_DB to a database seeded by `BENCH_QUEUE_DB=<name> npm run bench:queue`');
  const url = process.env.BENCH_PROFILE_URL ?? '/requests?customer=customer4242%40client254.example';
  const app = await startApp({
    DATABASE_URL: `${PG_BASE}/${name}`,
    DATA_DIR: dataDir,
    DATABASE_POOL_SIZE: '10',
    ...PROFILED(profDir),
  });
  try {
    const token = await login(app.base);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const end = Date.now() + 10_000;
    let n = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (Date.now() < end) {
          await new Promise<void>((resolve, reject) =>
            http
              .get(`${app.base}${url}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
                res.resume();
                res.on('end', () => resolve());
              })
              .on('error', reject),
          );
          n++;
        }
      }),
    );
    agent.destroy();
    console.log(`${n / 10} req/s on ${url}`);
  } finally {
    await app.stop();
  }
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** The top self-time packages and functions of the profiles, as shares of their samples and in ms. */
function summary(files: string[]): string {
  const self = new Map<string, number>();
  const byPkg = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
    const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
    prof.samples.forEach((s, i) => {
      const ms = (prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0) / 1000;
      total += ms;
      const cf = byId.get(s)!.callFrame;
      const key = `${cf.functionName || '(anon)'} ${cf.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/')}:${cf.lineNumber}`;
      self.set(key, (self.get(key) ?? 0) + ms);
      const pkg =
        /node_modules\/((@[^/]+\/)?[^/]+)/.exec(cf.url)?.[1] ??
        (cf.url.includes('/dist/') ? 'maildesk' : cf.url ? 'node:' + cf.url.split('/')[0] : cf.functionName);
      byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + ms);
    });
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, ms]) => `${((ms / total) * 100).toFixed(1)}%  ${Math.round(ms)} ms  ${name}`);
  return `-- by package --\n${top(byPkg, 15).join('\n')}\n-- by function --\n${top(self, 30).join('\n')}`;
}

/**
 * Dev helper (`npm run bench:profile [queue|hostile]`): a CPU profile of the app under webhook
 * load, under GET /requests load (`queue`) or while hostile mail streams in (`hostile`); prints
 * the top self-time functions and packages.
 */
main(typeof module === 'object' ? module : undefined, async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-'));
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-prof-'));
  try {
    const mode = process.argv[2];
    await (mode === 'queue' ? queueLoad : mode === 'hostile' ? hostileLoad : ingestLoad)(profDir, dataDir);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const main = path.join(profDir, 'app.cpuprofile');
  if (!fs.existsSync(main)) throw new Error('no profile written');
  const workers = fs
    .readdirSync(profDir)
    .filter((f) => /\.worker-.*\.cpuprofile$/.test(f))
    .map((f) => path.join(profDir, f));
  console.log(`profile: ${main}\n${summary([main])}`);
  if (workers.length)
    console.log(`\nworker threads (the parse threads), ${workers.length} profiles in ${profDir}\n${summary(workers)}`);
});
