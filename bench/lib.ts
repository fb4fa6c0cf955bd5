import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { AppProcess, startAppProcess } from '../test/setup/app-process';
import { writePlots } from './plots';
import { appendRuns, type Figure, readRuns, type RunRow, runRows } from './runs';

export type { Figure, Target } from './runs';

/** Root of the repository (the benches run compiled, from node_modules/.cache/maildesk-bench). */
export const ROOT = ((): string => {
  let d = path.resolve(typeof __dirname === 'string' ? __dirname : '.');
  while (
    d !== path.dirname(d) &&
    (d.includes(`${path.sep}node_modules`) || !fs.existsSync(path.join(d, 'package.json')))
  )
    d = path.dirname(d);
  return d;
})();
/** The PostgreSQL server the benches create their databases on. */
export const PG_BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
/** Token the benches give the app for the webhook. */
export const BENCH_TOKEN = 'bench-inbound-token-0123456789';
export const BENCH_ADMIN = { email: 'admin@bench.test', password: 'bench-password-1' };

/** Small seeded PRNG (mulberry32): every data set is generated, the same for the same seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The p-th percentile (0..100) of the values, nearest rank. */
export function pct(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** A fresh database on the local PostgreSQL; drop() removes it. */
export async function createDatabase(
  prefix: string,
  exactName = false,
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = exactName ? prefix : `${prefix}_${process.pid}_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    name,
    url: `${PG_BASE}/${name}`,
    async drop() {
      const c = new Client({ connectionString: `${PG_BASE}/postgres` });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Whether the local PostgreSQL has a database of that name. */
export async function databaseExists(name: string): Promise<boolean> {
  const admin = new Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  try {
    return (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await admin.end();
  }
}

let pgVersionCache: string | undefined;
async function pgVersion(): Promise<string> {
  if (pgVersionCache) return pgVersionCache;
  try {
    const c = new Client({ connectionString: `${PG_BASE}/postgres` });
    await c.connect();
    const r = await c.query('SHOW server_version');
    await c.end();
    pgVersionCache = String(r.rows[0].server_version).split(' ')[0];
  } catch {
    pgVersionCache = 'n/a';
  }
  return pgVersionCache;
}

/** `2 cpu, 23.5 GB, node v20, pg 15.20`: the machine column of bench/results/runs.csv. */
export async function machine(): Promise<string> {
  const cpus = os.availableParallelism?.() ?? os.cpus().length;
  return `${cpus} cpu, ${round(os.totalmem() / 2 ** 30)} GB, node ${process.version}, pg ${await pgVersion()}`;
}

/** The commit measured: its short hash, `+dirty` when the code (not the results) has uncommitted changes. */
export function commitMeasured(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    const hash = git('rev-parse', '--short=7', 'HEAD');
    const dirty = git(
      'status',
      '--porcelain',
      '--untracked-files=no',
      '--',
      '.',
      ':!bench/results',
      ':!docs',
      ':!*.md',
    );
    return dirty ? `${hash}+dirty` : hash;
  } catch {
    return '';
  }
}

/** Where every run's figures go, a row each (BENCHMARKS.md keeps the method and the latest figures). */
export const RUNS_FILE = path.join(ROOT, 'bench', 'results', 'runs.csv');

/**
 * Prints a run's figures (each with its target, met or not), appends them to bench/results/runs.csv
 * (with the date, BENCH_LABEL, the commit and the machine) and redraws the plots of
 * bench/results/ from the whole history.
 */
export async function record(bench: string, figures: Figure[]): Promise<void> {
  const rows = runRows(
    {
      date: new Date().toISOString().slice(0, 16).replace('T', ' '),
      bench,
      label: process.env.BENCH_LABEL ?? '',
      commit: commitMeasured(),
      machine: await machine(),
    },
    figures,
  );
  console.log(`\n[${bench}]`);
  const byCase = new Map<string, RunRow[]>();
  for (const r of rows) byCase.set(r.case, [...(byCase.get(r.case) ?? []), r]);
  for (const [name, list] of byCase) {
    const text = list.map(
      (r) => `${r.metric} ${r.value}${r.target ? ` (${r.target} ${r.met === 'yes' ? 'met' : 'NOT met'})` : ''}`,
    );
    console.log(`  ${name ? `${name}: ` : ''}${text.join(', ')}`);
  }
  appendRuns(RUNS_FILE, rows);
  writePlots(readRuns(RUNS_FILE), path.dirname(RUNS_FILE));
}

let snapshot: string | undefined;

/**
 * A private copy of the built app (dist/ as `npm run bench` just built it), so a rebuild in the
 * working tree during a long run cannot pull the files from under it. node_modules is linked.
 */
export function appDir(): string {
  if (snapshot) return snapshot;
  const dir = path.join(ROOT, 'node_modules', '.cache', 'maildesk-bench', `app-${process.pid}`);
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  for (let attempt = 0; ; attempt++) {
    try {
      if (!fs.existsSync(path.join(ROOT, 'dist/src/main.js')))
        throw new Error('dist/src/main.js is missing: run npx nest build');
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      snapshot = dir;
      return dir;
    } catch (e) {
      if (attempt >= 20) throw e;
      execFileSync('sleep', ['1']);
    }
  }
}

let started = 0;

/** A new log file for an app the bench starts, in this run's snapshot of the app (appDir). */
function logFile(): string {
  const dir = path.join(appDir(), 'logs');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `app-${++started}.log`);
}

/** Starts the built app (dist/src/main.js, from the snapshot) with bench defaults on top of `env`. */
export function startApp(env: Record<string, string>, timeoutMs = 120_000): Promise<AppProcess> {
  process.chdir(appDir());
  return startAppProcess(
    {
      INBOUND_TOKEN: BENCH_TOKEN,
      ADMIN_EMAIL: BENCH_ADMIN.email,
      ADMIN_PASSWORD: BENCH_ADMIN.password,
      JWT_SECRET: 'bench-jwt-secret-0123456789abcdef',
      LOG_LEVEL: 'log',
      // A benchmark is one client sending as fast as it can: no per-address limits.
      WEBHOOK_RATE_LIMIT: '0',
      LOGIN_RATE_LIMIT: '0',
      // BENCH_APP_NODE_OPTIONS: Node flags for the app instead of npm start's (to measure a flag).
      ...(process.env.BENCH_APP_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_APP_NODE_OPTIONS } : {}),
      ...env,
    },
    timeoutMs,
    // To a file, as a log collector would take them: this process reading a pipe of 1.4 MB/s of
    // request lines took the CPU from the app it measures (and not reading it filled the app's heap).
    // Node's flags: npm start's, or only BENCH_APP_NODE_OPTIONS's when it is set.
    {
      logFile: logFile(),
      maxLogChars: 1024 * 1024,
      ...(process.env.BENCH_APP_NODE_OPTIONS !== undefined ? { nodeFlags: [] } : {}),
    },
  );
}

/** Resident set size of a process in MB (current and peak), from /proc. */
export function rssOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: round(kb('VmRSS') / 1024), peak: round(kb('VmHWM') / 1024) };
}

/** The CPU time (user + system, ms) process `pid` has used, from /proc; NaN when it cannot be read. */
export function cpuMsOf(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime, fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/**
 * The CPU ms of each thread of process `pid`, by thread id (/proc/<pid>/task; Node names them all
 * "node"): the main thread's id is the pid. Threads that ended are missing.
 */
export function threadCpuMsOf(pid: number): Map<number, number> {
  const byTid = new Map<number, number>();
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return byTid;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      byTid.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // the thread ended meanwhile
    }
  }
  return byTid;
}

/**
 * The CPU the local PostgreSQL's backends of database `name` spend from now until `stop()`, in ms
 * (backends that open meanwhile count from zero; their start is part of the work): the
 * statements' own cost, which the load of other work on the machine barely moves, unlike a rate.
 * NaN when the server is not local (no /proc of its processes).
 */
export async function backendCpu(name: string): Promise<{ stop: () => Promise<number> }> {
  const pids = async (): Promise<number[]> => {
    const c = new Client({ connectionString: `${PG_BASE}/postgres` });
    await c.connect();
    try {
      const r = await c.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
      return r.rows.map((row: { pid: number }) => row.pid);
    } finally {
      await c.end();
    }
  };
  const before = new Map((await pids()).map((pid) => [pid, cpuMsOf(pid)]));
  return {
    async stop() {
      let total = 0;
      for (const pid of await pids()) total += cpuMsOf(pid) - (before.get(pid) ?? 0);
      return total;
    },
  };
}

/** Samples the RSS of `pid` every 100 ms until stopped; returns the highest seen. */
export function rssSampler(pid: number): { stop: () => number } {
  let max = 0;
  const t = setInterval(() => {
    try {
      max = Math.max(max, rssOf(pid).rss);
    } catch {
      /* exited */
    }
  }, 100);
  return {
    stop() {
      clearInterval(t);
      try {
        max = Math.max(max, rssOf(pid).rss);
      } catch {
        /* exited */
      }
      return max;
    },
  };
}

/** An operator access token for the app at `base`. */
export async function login(base: string): Promise<string> {
  const res = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(BENCH_ADMIN),
  });
  if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/** Runs `worker` on `concurrency` lanes over `count` jobs; returns each job's latency (ms) and the wall time. */
export async function runPool(
  count: number,
  concurrency: number,
  worker: (i: number) => Promise<void>,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies = new Array<number>(count);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await worker(i);
        latencies[i] = performance.now() - t0;
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

/** Whether `command` is on the PATH (or in /usr/sbin). */
function installed(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Debian packages the benches drive: Dovecot (IMAP scenarios) and wrk (the queue's HTTP load). */
const BENCH_PACKAGES = { dovecot: 'dovecot-imapd', wrk: 'wrk' };

/**
 * Installs the missing BENCH_PACKAGES with apt-get, as `.ci/run` does for the tests, when running
 * as root on a fresh machine; otherwise leaves them to the caller (hasDovecot, requireWrk).
 */
export function ensureBenchPackages(): void {
  const missing = Object.entries(BENCH_PACKAGES)
    .filter(([command]) => !installed(command))
    .map(([, pkg]) => pkg);
  if (!missing.length || process.getuid?.() !== 0 || !installed('apt-get')) return;
  console.log(`installing ${missing.join(', ')} (apt-get)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'ignore', env });
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'ignore', env });
  }
}

/** wrk, the queue scenario's HTTP load generator: installed if possible, else an error saying how. */
export function requireWrk(): void {
  ensureBenchPackages();
  if (!installed('wrk')) throw new Error('wrk is not installed (apt-get install -y wrk)');
}

/** Whether Dovecot is installed (the IMAP benches need it). */
export function hasDovecot(): boolean {
  ensureBenchPackages();
  return installed('dovecot');
}

/** Runs `fn` only when called as the main module: each bench file is also importable by bench/all. */
export function main(mod: NodeJS.Module | undefined, fn: () => Promise<unknown>): void {
  if (mod && require.main !== mod) return;
  fn().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(e.stack ?? e);
      process.exit(1);
    },
  );
}

/** Applies MailDesk's migrations to `url` (the built runner in dist/). */
export async function migrate(url: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const db = require(path.join(appDir(), 'dist/src/database/database.js')) as {
    runMigrations: (u: string) => Promise<string[]>;
  };
  await db.runMigrations(url);
}

/** POSTs one raw email to the webhook over a keep-alive agent; resolves with status and body. */
export function postMail(
  base: string,
  raw: Buffer,
  agent: import('node:http').Agent,
): Promise<{ status: number; body: string }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const http = require('node:http') as typeof import('node:http');
  const url = new URL('/inbound/mail', base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${BENCH_TOKEN}`,
          'content-type': 'message/rfc822',
          'content-length': raw.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(120_000, () => req.destroy(new Error('webhook request timed out')));
    req.on('error', reject);
    req.end(raw);
  });
}
