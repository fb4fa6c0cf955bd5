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
    title: 'Webhook ingest against its ceiling',
    note: '20,000 mails, 32 connections; the ceiling: the same statements straight through pg, no HTTP, same run',
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

/** Draws every plot from `rows` into `dir`; returns the files written. */
export function writePlots(rows: RunRow[], dir: string): string[] {
  const charts: Array<[string, string | undefined]> = [
    [PLOT_FILES.ingest, ingestChart(rows)],
    [PLOT_FILES.latency, latencyChart(rows)],
    [PLOT_FILES.listBySize, listBySizeChart(rows)],
  ];
  const written: string[] = [];
  for (const [file, svg] of charts) {
    if (!svg) continue;
    const target = path.join(dir, file);
    if (fs.existsSync(target) && fs.readFileSync(target, 'utf8') === svg) continue;
    fs.writeFileSync(target, svg);
    written.push(target);
  }
  return written;
}

// `npm run bench:plots`: the plots from the history as it is, without running a bench.
if (typeof module === 'object' && require.main === module) {
  // npm runs it from the repository's root.
  const results = path.resolve('bench/results');
  const written = writePlots(readRuns(path.join(results, 'runs.csv')), results);
  console.log(written.length ? written.map((f) => `wrote ${f}`).join('\n') : 'every plot is current');
}
