import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRuns, type RunRow } from './runs';
import { type Point, renderChart, type Series } from './svg';

/**
 * The plots BENCHMARKS.md shows, drawn from the run history (bench/results/runs.csv) into
 * bench/results/: ingest against its SQL ceiling, mail-to-reply latency, list p99 against table
 * size. record() (lib.ts) redraws them after every run; `npm run bench:plots` draws them alone.
 */

export const PLOT_FILES = {
  ingest: 'ingest-vs-ceiling.svg',
  latency: 'mail-to-reply-latency.svg',
  listBySize: 'list-p99-by-table-size.svg',
} as const;

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];

/** One recorded run: its rows, and a figure by metric (and case). */
interface Run {
  date: string;
  bench: string;
  label: string;
  rows: RunRow[];
  get(metric: string, kase?: string): number | undefined;
}

/** The runs of the benches `bench` matches, oldest first (a run: the rows of one record() call). */
function runsOf(rows: RunRow[], bench: (name: string) => boolean): Run[] {
  const runs = new Map<string, Run>();
  for (const r of rows) {
    if (!bench(r.bench)) continue;
    const key = `${r.date}|${r.bench}|${r.label}|${r.commit}`;
    let run = runs.get(key);
    if (!run) {
      const own: RunRow[] = [];
      run = {
        date: r.date,
        bench: r.bench,
        label: r.label,
        rows: own,
        get: (metric, kase = '') => own.find((x) => x.metric === metric && x.case === kase)?.value,
      };
      runs.set(key, run);
    }
    run.rows.push(r);
  }
  return [...runs.values()].sort((a, b) => a.date.localeCompare(b.date));
}

/** `2026-12-05 14:30` -> `12-05 14:30`. */
const short = (date: string) => date.slice(5);

const runTicks = (runs: Run[]) => runs.map((r, i) => ({ value: i, label: short(r.date) }));

/** Webhook ingest (20,000 mails) against the same SQL straight through pg, run by run. */
export function ingestChart(rows: RunRow[]): string | undefined {
  const runs = runsOf(rows, (b) => b === 'webhook ingest').filter((r) => r.get('mails') === 20_000);
  if (!runs.length) return undefined;
  const at = (metric: string, f = (v: number) => v) =>
    runs.flatMap((r, i): Point[] => {
      const v = r.get(metric);
      return v === undefined ? [] : [{ x: i, y: f(v) }];
    });
  const app = at('app_emails_per_s').map((p) => ({ ...p, label: `${runs[p.x].get('ratio_pct')}%` }));
  return renderChart({
    title: 'Webhook ingest against its ceilings',
    note: '20,000 mails, 32 connections; the ceiling: the same statements straight through pg, no HTTP; the floor: the minimal transaction; same run',
    x: { label: 'run (UTC)', min: -0.5, max: runs.length - 0.5, ticks: runTicks(runs) },
    y: { label: 'emails/s', min: 0 },
    series: [
      { name: 'MailDesk (% of ceiling)', color: COLORS[0], points: app },
      { name: 'SQL alone (ceiling)', color: '#555', points: at('ceiling_emails_per_s') },
      {
        name: 'target: 50% of ceiling',
        color: '#c0392b',
        dashed: true,
        points: at('ceiling_emails_per_s', (v) => v / 2),
      },
      // Issue 23's second ceiling, from its first run on: the minimal per-email transaction.
      { name: 'the floor (minimal transaction)', color: '#2c7fb8', points: at('floor_emails_per_s') },
      {
        name: 'target: 50% of the floor',
        color: '#2c7fb8',
        dashed: true,
        points: at('floor_emails_per_s', (v) => v / 2),
      },
    ],
  });
}

/** Mail-to-reply latency over IMAP IDLE, run by run: its quantiles. */
export function latencyChart(rows: RunRow[]): string | undefined {
  const runs = runsOf(rows, (b) => b === 'mail-to-reply latency').filter((r) => (r.get('mails') ?? 0) >= 200);
  if (!runs.length) return undefined;
  const quantiles: Array<[string, string]> = [
    ['min_ms', 'min'],
    ['p10_ms', 'p10'],
    ['p25_ms', 'p25'],
    ['p50_ms', 'p50'],
    ['p75_ms', 'p75'],
    ['p90_ms', 'p90'],
    ['p99_ms', 'p99'],
    ['max_ms', 'max'],
  ];
  const series: Series[] = quantiles
    .map(([metric, name], i) => ({
      name,
      color: COLORS[i % COLORS.length],
      points: runs.flatMap((r, x): Point[] => {
        const y = r.get(metric);
        return y === undefined ? [] : [{ x, y }];
      }),
    }))
    .filter((s) => s.points.length);
  return renderChart({
    title: 'Mail-to-reply latency',
    note: '200 mails APPENDed 50-500 ms apart, IDLE on: APPEND -> creation auto-reply received; quantiles per run',
    x: { label: 'run (UTC)', min: -0.5, max: runs.length - 0.5, ticks: runTicks(runs) },
    y: { label: 'ms', min: 0 },
    series,
    rules: [
      { y: 1000, label: 'p50 target 1 s' },
      { y: 2000, label: 'p99 target 2 s' },
    ],
  });
}

/** Short names of the shapes (`search q=424242 (one hit)` and `search q=42424 (one hit)` are one shape at two sizes). */
function shapeName(name: string): string {
  if (/^search q=\d+ \(one hit\)$/.test(name)) return 'search, one hit';
  const names: Record<string, string> = {
    'status=new, sort createdAt': 'status=new',
    'status=new,in_progress + operator': 'new,in_progress + operator',
    'date range (30 days)': '30 days',
    'page 200 of status=in_progress': 'page 200 of in_progress',
    'search q=vpn + status=new': 'search vpn + status=new',
  };
  return names[name] ?? name;
}

/** `2026-11-25 10:45` and `2026-11-25 10:59` -> `2026-11-25 10:45-10:59`. */
function span(dates: string[]): string {
  const sorted = dates.sort();
  const [first, last] = [sorted[0], sorted[sorted.length - 1]];
  return first === last
    ? first
    : first.slice(0, 10) === last.slice(0, 10)
      ? `${first}-${last.slice(11)}`
      : `${first} to ${last}`;
}

/** Runs this close together measured the same code (one `npm run bench`, or a size and the next). */
const SAME_CODE_MS = 20 * 60_000;

interface SizedPoint {
  at: number;
  size: number;
  p99: number;
}

/** `newest` and, at each other size, the point nearest to it in time within SAME_CODE_MS. */
function group(newest: SizedPoint, all: SizedPoint[]): SizedPoint[] {
  const out = [newest];
  for (const size of new Set(all.map((p) => p.size))) {
    if (size === newest.size) continue;
    const near = all
      .filter((p) => p.size === size && Math.abs(p.at - newest.at) <= SAME_CODE_MS)
      .sort((a, b) => Math.abs(a.at - newest.at) - Math.abs(b.at - newest.at))[0];
    if (near) out.push(near);
  }
  return out.sort((a, b) => a.size - b.size);
}

/**
 * p99 of each GET /requests shape at 10 connections against the number of requests. A line joins
 * only sizes measured on the same code (runs at most 20 minutes apart): solid for the newest run of
 * each shape; when that measured one size only, dashed with hollow points for the newest earlier
 * group of runs that measured several.
 */
export function listBySizeChart(rows: RunRow[]): string | undefined {
  const runs = runsOf(rows, (b) => b === 'queue at scale' || b.startsWith('search at'));
  if (!runs.length) return undefined;
  const byShape = new Map<string, SizedPoint[]>();
  for (const run of runs) {
    const size = run.get('requests');
    if (!size) continue;
    for (const r of run.rows) {
      if (r.metric !== 'c10_p99_ms' || !r.case || r.case.startsWith('report')) continue;
      const list = byShape.get(shapeName(r.case)) ?? [];
      byShape.set(shapeName(r.case), [...list, { at: Date.parse(`${run.date}Z`), size, p99: r.value }]);
    }
  }
  const points = (g: SizedPoint[], hollow: boolean): Point[] => g.map((p) => ({ x: p.size, y: p99(p), hollow }));
  const p99 = (p: SizedPoint) => p.p99;
  const series: Series[] = [];
  const older = new Set<string>();
  [...byShape].forEach(([shape, all], i) => {
    const color = COLORS[i % COLORS.length];
    const newest = [...all].sort((a, b) => b.at - a.at);
    const latest = group(newest[0], all);
    series.push({ name: shape, color, points: points(latest, false) });
    if (latest.length > 1) return;
    const earlier = newest
      .slice(1)
      .map((p) => group(p, all))
      .find((g) => g.length > 1);
    if (!earlier) return;
    for (const p of earlier) older.add(new Date(p.at).toISOString().slice(0, 16).replace('T', ' '));
    series.push({ name: '', color, dashed: true, points: points(earlier, true) });
  });
  const sizes = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const newestRun = runs[runs.length - 1].date.slice(0, 10);
  return renderChart({
    title: 'GET /requests p99 against table size',
    note:
      `p99 at 10 connections; solid: each shape's newest runs (${newestRun})` +
      (older.size ? `; dashed, hollow: ${span([...older])}, older code` : ''),
    x: {
      label: 'requests in the table',
      log: true,
      min: sizes[0] / 2,
      max: sizes[sizes.length - 1] * 2,
      ticks: sizes.map((v) => ({ value: v, label: v >= 1e6 ? `${v / 1e6}M` : `${v / 1000}k` })),
    },
    y: { label: 'p99 ms (log)', log: true },
    series,
    rules: [
      { y: 30, label: 'list target 30 ms (1M)' },
      { y: 100, label: 'search target 100 ms', color: '#7f7f7f' },
    ],
  });
}

/** What each targeted metric is, for the table of BENCHMARKS.md. */
const METRIC_LABELS: Record<string, string> = {
  ratio_pct: 'rate, % of the SQL ceiling',
  floor_ratio_pct: 'rate, % of the floor (the minimal transaction)',
  rss_peak_mb: 'RSS peak',
  rss_rest_mb: 'RSS at rest (embedded database)',
  webhook_pct: 'rate, % of the webhook rate',
  p50_ms: 'p50',
  p99_ms: 'p99',
  wall_ms: 'wall time to ready',
  growth_mb: 'RSS growth over the repeats',
  c10_p99_ms: 'p99 at 10 connections',
  c1_p99_ms: 'p99, one caller',
  ratio_to_sql_alone: 'p99 / the same SQL alone',
  seq_scans: 'sequential scans of growing tables',
  requests_p99_ratio: '`GET /requests` p99 / idle',
  probes_failed: 'probes failed',
  health_max_ms: '`GET /health/live` max',
  mails_late: 'mails not stored or quarantined in time',
  rss_growth_mb: 'RSS growth over idle',
  bombs_read: 'bombs read (not refused unread)',
  app_died: 'app died',
};

const UNITS: Array<[RegExp, string]> = [
  [/_ms$/, ' ms'],
  [/_mb$/, ' MB'],
  [/_pct$/, '%'],
  [/ratio/, 'x'],
];

const withUnit = (metric: string, v: number) => `${v}${UNITS.find(([re]) => re.test(metric))?.[1] ?? ''}`;

/** The benches in the order BENCHMARKS.md lists them (its method table's). */
const BENCH_ORDER = [
  'start time',
  'webhook ingest',
  'IMAP ingest',
  'mail-to-reply',
  'memory',
  'queue at scale',
  'search at',
  'hostile input',
];

export const TARGETS_START =
  '<!-- targets:start (written by record() and npm run bench:plots from bench/results/runs.csv) -->';
export const TARGETS_END = '<!-- targets:end -->';

/**
 * Each target against the latest run of its bench (the latest without a BENCH_LABEL, when there is
 * one): the figure (the worst case where a bench has several: list shapes, repeats), the figure
 * over the target, met or not.
 */
export function targetsTable(rows: RunRow[]): string {
  const out = ['| bench | figure | target | latest | latest / target | |', '|---|---|---|---|---|---|'];
  const order = (b: string) => {
    const i = BENCH_ORDER.findIndex((name) => b.startsWith(name));
    return i < 0 ? BENCH_ORDER.length : i;
  };
  const benches = [...new Set(rows.map((r) => r.bench))].sort((a, b) => order(a) - order(b));
  for (const bench of benches) {
    const runs = runsOf(rows, (b) => b === bench);
    const run = [...runs].reverse().find((r) => !r.label) ?? runs[runs.length - 1];
    const groups = new Map<string, RunRow[]>();
    for (const r of run.rows.filter((x) => x.target)) {
      const key = `${r.metric}|${r.target}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    for (const list of groups.values()) {
      const limit = Number(list[0].target.replace(/^[<>]=?/, ''));
      const upper = list[0].target.startsWith('<');
      // The worst case: the highest against an upper bound, the lowest against a lower one.
      const worst = [...list].sort((a, b) => (upper ? b.value - a.value : a.value - b.value))[0];
      const same = list.every((r) => r.value === worst.value);
      const which = same ? ` (all ${list.length})` : ` (worst of ${list.length}: ${worst.case})`;
      const cases = list.length > 1 ? which : worst.case ? ` (${worst.case})` : '';
      const ratio = limit ? `${Math.round((worst.value / limit) * 100) / 100}` : '—';
      const met = list.every((r) => r.met === 'yes') ? 'met' : '**not met**';
      const target = `${upper ? '≤' : '≥'} ${withUnit(worst.metric, limit)}`;
      const figure = METRIC_LABELS[worst.metric] ?? worst.metric;
      const latest = `${withUnit(worst.metric, worst.value)}${cases}, ${short(run.date)}`;
      out.push(`| ${bench} | ${figure} | ${target} | ${latest} | ${ratio} | ${met} |`);
    }
  }
  return out.join('\n');
}

/** `doc` with the text between the targets markers replaced by the table of `rows`. */
export function withTargets(doc: string, rows: RunRow[]): string {
  const a = doc.indexOf(TARGETS_START);
  const b = doc.indexOf(TARGETS_END);
  if (a < 0 || b < a) return doc;
  return `${doc.slice(0, a + TARGETS_START.length)}\n${targetsTable(rows)}\n${doc.slice(b)}`;
}

/** Draws every plot from `rows` into `dir` (bench/results/) and the table of targets into BENCHMARKS.md; returns the files written. */
export function writePlots(rows: RunRow[], dir: string): string[] {
  const charts: Array<[string, string | undefined]> = [
    [PLOT_FILES.ingest, ingestChart(rows)],
    [PLOT_FILES.latency, latencyChart(rows)],
    [PLOT_FILES.listBySize, listBySizeChart(rows)],
  ];
  const written: string[] = [];
  const write = (target: string, text: string) => {
    if (fs.existsSync(target) && fs.readFileSync(target, 'utf8') === text) return;
    fs.writeFileSync(target, text);
    written.push(target);
  };
  for (const [file, svg] of charts) if (svg) write(path.join(dir, file), svg);
  // BENCHMARKS.md, two levels up from bench/results/: its table of targets.
  const benchmarks = path.join(dir, '..', '..', 'BENCHMARKS.md');
  if (fs.existsSync(benchmarks)) write(benchmarks, withTargets(fs.readFileSync(benchmarks, 'utf8'), rows));
  return written;
}

// `npm run bench:plots`: the plots from the history as it is, without running a bench.
if (typeof module === 'object' && require.main === module) {
  // npm runs it from the repository's root.
  const results = path.resolve('bench/results');
  const written = writePlots(readRuns(path.join(results, 'runs.csv')), results);
  console.log(written.length ? written.map((f) => `wrote ${f}`).join('\n') : 'every plot is current');
}
