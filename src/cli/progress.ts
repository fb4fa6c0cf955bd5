import type { IngestResult, IngestStatus } from '../inbound-mail/ingest-result';

/** How many mails ended in each state. */
export type ImportCounts = Record<IngestStatus, number>;

const WIDTH = 24;
const PLAIN_EVERY_MS = 5000;
const TTY_EVERY_MS = 100;

/** Formats counts as `created 3, appended 1, duplicate 0, ignored 0, quarantined 0`. */
export function formatCounts(c: ImportCounts): string {
  return `created ${c.created}, appended ${c.appended}, duplicate ${c.duplicate}, ignored ${c.ignored}, quarantined ${c.quarantined}`;
}

/**
 * Counts the import's results and shows its progress on `stream`: a redrawn bar on a terminal,
 * otherwise a plain line every few seconds (logs and pipes stay readable).
 */
export class ImportProgress {
  readonly counts: ImportCounts = { created: 0, appended: 0, duplicate: 0, ignored: 0, quarantined: 0 };
  private done = 0;
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.tty = !!stream.isTTY;
    this.lastDraw = now();
  }

  /** How many mails were processed. */
  get processed(): number {
    return this.done;
  }

  /** Records one result; `fraction` (0..1) is how far through the source the import is. */
  record(result: IngestResult, fraction: number): void {
    this.done++;
    this.counts[result.status]++;
    const t = this.now();
    if (t - this.lastDraw >= (this.tty ? TTY_EVERY_MS : PLAIN_EVERY_MS)) {
      this.lastDraw = t;
      this.draw(fraction);
    }
  }

  /** Clears the bar (terminal) before the summary is printed. */
  end(): void {
    if (this.tty) this.stream.write('\r\x1b[2K');
  }

  private draw(fraction: number): void {
    const f = Math.max(0, Math.min(1, fraction));
    const pct = `${Math.floor(f * 100)}%`.padStart(4);
    if (this.tty) {
      const filled = Math.round(f * WIDTH);
      const bar = '#'.repeat(filled) + '-'.repeat(WIDTH - filled);
      this.stream.write(`\r\x1b[2K${this.label} [${bar}] ${pct} ${this.done} mails (${formatCounts(this.counts)})`);
    } else {
      this.stream.write(`${this.label}: ${pct}, ${this.done} mails (${formatCounts(this.counts)})\n`);
    }
  }
}

/**
 * A count of items moved out of a known total (`maildesk blobs migrate`), shown like an import's:
 * a redrawn bar on a terminal, otherwise a plain line every few seconds.
 */
export class CountProgress {
  private lastDraw: number;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.tty = !!stream.isTTY;
    this.lastDraw = now();
  }

  /** Shows `done` of `total` (throttled). */
  update(done: number, total: number): void {
    const t = this.now();
    if (t - this.lastDraw < (this.tty ? TTY_EVERY_MS : PLAIN_EVERY_MS)) return;
    this.lastDraw = t;
    const f = total ? Math.max(0, Math.min(1, done / total)) : 1;
    const pct = `${Math.floor(f * 100)}%`.padStart(4);
    if (this.tty) {
      const filled = Math.round(f * WIDTH);
      this.stream.write(
        `\r\x1b[2K${this.label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${pct} ${done}/${total}`,
      );
    } else {
      this.stream.write(`${this.label}: ${pct}, ${done}/${total}\n`);
    }
  }

  /** Clears the bar (terminal) before the summary is printed. */
  end(): void {
    if (this.tty) this.stream.write('\r\x1b[2K');
  }
}
