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
 * A progress line on `stream`: a redrawn bar on a terminal, otherwise a plain line every few
 * seconds (logs and pipes stay readable). `show` is throttled; `end` clears the bar.
 */
class ProgressLine {
  private lastDraw: number;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream,
    private readonly now: () => number,
  ) {
    this.tty = !!stream.isTTY;
    this.lastDraw = now();
  }

  /** Draws `fraction` (0..1) and `detail` unless the last drawing is too recent. */
  show(fraction: number, detail: () => string): void {
    const t = this.now();
    if (t - this.lastDraw < (this.tty ? TTY_EVERY_MS : PLAIN_EVERY_MS)) return;
    this.lastDraw = t;
    const f = Math.max(0, Math.min(1, fraction));
    const pct = `${Math.floor(f * 100)}%`.padStart(4);
    if (this.tty) {
      const filled = Math.round(f * WIDTH);
      this.stream.write(
        `\r\x1b[2K${this.label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${pct} ${detail()}`,
      );
    } else {
      this.stream.write(`${this.label}: ${pct}, ${detail()}\n`);
    }
  }

  /** Clears the bar (terminal) before the summary is printed. */
  end(): void {
    if (this.tty) this.stream.write('\r\x1b[2K');
  }
}

/** Counts the import's results and shows its progress (ProgressLine). */
export class ImportProgress {
  readonly counts: ImportCounts = { created: 0, appended: 0, duplicate: 0, ignored: 0, quarantined: 0 };
  private done = 0;
  private readonly line: ProgressLine;

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now) {
    this.line = new ProgressLine(label, stream, now);
  }

  /** How many mails were processed. */
  get processed(): number {
    return this.done;
  }

  /** Records one result; `fraction` (0..1) is how far through the source the import is. */
  record(result: IngestResult, fraction: number): void {
    this.done++;
    this.counts[result.status]++;
    this.line.show(fraction, () => `${this.done} mails (${formatCounts(this.counts)})`);
  }

  /** Clears the bar (terminal) before the summary is printed. */
  end(): void {
    this.line.end();
  }
}

/** A count of items moved out of a known total (`maildesk blobs migrate`), shown like an import's. */
export class CountProgress {
  private readonly line: ProgressLine;

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now) {
    this.line = new ProgressLine(label, stream, now);
  }

  /** Shows `done` of `total` (throttled). */
  update(done: number, total: number): void {
    this.line.show(total ? done / total : 1, () => `${done}/${total}`);
  }

  /** Clears the bar (terminal) before the summary is printed. */
  end(): void {
    this.line.end();
  }
}
