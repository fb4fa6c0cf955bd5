import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The run history: `bench/results/runs.csv`, one row per figure of every recorded run (appended by
 * record() in lib.ts), read back by the plots (plots.ts) and by the IMAP scenario (the latest
 * webhook rate). bench/results/history.md tells what changed between runs.
 */

/** A target as written in the CSV: `<=300`, `>=50`. */
export type Target = `${'<=' | '>=' | '<' | '>'}${number}`;

/**
 * One figure of a run: a metric (`app_emails_per_s`, `c10_p99_ms`: the unit ends the name) of a
 * case (a list shape, a kind of start; none for a bench with one case), with its target if it has one.
 */
export interface Figure {
  case?: string;
  metric: string;
  value: number;
  target?: Target;
}

/** A row of runs.csv. */
export interface RunRow {
  /** UTC, `2026-12-05 14:30`. */
  date: string;
  bench: string;
  /** BENCH_LABEL of the run (what was being tried), or ''. */
  label: string;
  case: string;
  metric: string;
  value: number;
  target: string;
  /** `yes`, `no`, or '' without a target. */
  met: string;
  /** Short hash of the commit measured (`+dirty` with uncommitted code), '' for runs before it was recorded. */
  commit: string;
  machine: string;
}

export const RUN_COLUMNS = [
  'date',
  'bench',
  'label',
  'case',
  'metric',
  'value',
  'target',
  'met',
  'commit',
  'machine',
] as const;

/** Whether `value` meets `target`. */
export function meets(value: number, target: Target): boolean {
  const m = /^(<=|>=|<|>)(-?[\d.]+)$/.exec(target);
  if (!m) throw new Error(`not a target: ${target}`);
  const t = Number(m[2]);
  return m[1] === '<=' ? value <= t : m[1] === '>=' ? value >= t : m[1] === '<' ? value < t : value > t;
}

/** The rows of one run. */
export function runRows(
  run: Pick<RunRow, 'date' | 'bench' | 'label' | 'commit' | 'machine'>,
  figures: Figure[],
): RunRow[] {
  return figures
    .filter((f) => Number.isFinite(f.value))
    .map((f) => ({
      ...run,
      case: f.case ?? '',
      metric: f.metric,
      value: f.value,
      target: f.target ?? '',
      met: f.target ? (meets(f.value, f.target) ? 'yes' : 'no') : '',
    }));
}

const quote = (v: string | number) => {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** CSV lines (no header) of `rows`. */
export function formatRows(rows: RunRow[]): string {
  return rows.map((r) => `${RUN_COLUMNS.map((c) => quote(r[c])).join(',')}\n`).join('');
}

/** The fields of each line of a CSV text (RFC 4180: quoted fields may hold commas, quotes, newlines). */
export function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted && ch === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
    } else if (quoted || (ch !== ',' && ch !== '\n' && ch !== '\r')) {
      field += ch;
    } else if (ch === ',') {
      endField();
    } else if (ch === '\n') {
      endField();
      out.push(row);
      row = [];
    }
  }
  if (field || row.length) {
    endField();
    out.push(row);
  }
  return out;
}

/** Every row of a runs.csv file (none when it does not exist). */
export function readRuns(file: string): RunRow[] {
  if (!fs.existsSync(file)) return [];
  const [header, ...lines] = parseCsv(fs.readFileSync(file, 'utf8'));
  const at = (name: string) => header.indexOf(name);
  return lines
    .filter((l) => l.length > 1)
    .map((l) => {
      const row = Object.fromEntries(RUN_COLUMNS.map((c) => [c, l[at(c)] ?? ''])) as Record<string, string>;
      return { ...row, value: Number(row.value) } as unknown as RunRow;
    });
}

/** Appends `rows` to `file`, writing the header first when the file is new. */
export function appendRuns(file: string, rows: RunRow[]): void {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${RUN_COLUMNS.join(',')}\n`);
  }
  fs.appendFileSync(file, formatRows(rows));
}
