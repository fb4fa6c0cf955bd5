/**
 * One read of the event log (request_events) after a position: the rows with a greater id that
 * the statement saw, in id order, and its snapshot's bounds (pg_current_snapshot(): `xmin`, the
 * oldest transaction still running; `xmax`, the first transaction id not yet given out).
 */
export interface LogRead<R extends { id: number }> {
  xmin: bigint;
  xmax: bigint;
  rows: R[];
}

/** Ids missing between two rows of a read, and the `xmax` past which their writers are all over. */
interface Gap {
  from: number;
  to: number;
  xmax: bigint;
}

/**
 * The position of a reader of the event log, that advances only past ids that are final: every id
 * up to it is delivered, or will never exist (rolled back, or a sequence jump). Ids are given out
 * at insert but committed in any order: a read may see 12 while 11 is still uncommitted. Reading
 * "id > last seen" would skip 11 forever; here 12 waits until 11 is decided, so events come out in
 * id order, exactly once, and a client resuming after id N misses nothing (everything up to N was
 * final when it got N).
 *
 * When 11 is decided: its transaction took its xid before the id (the id's default,
 * migrations/1764950000000-LiveEvents.ts), so its xid is below the `xmax` of the first read that
 * saw the gap; once a read's `xmin` reaches that value, no transaction below it is running: 11 is
 * visible to that read, or never will be. Usually the next read, a few milliseconds later.
 */
export class EventLogCursor {
  private gaps: Gap[] = [];

  /** `position`: every id up to it is final (taken as given: the hub starts it a window below the newest id). */
  constructor(private pos: number) {}

  /** Every id up to this one is final. */
  get position(): number {
    return this.pos;
  }

  /** Whether an undecided id holds later rows back: read again soon (nothing may NOTIFY it). */
  get waiting(): boolean {
    return this.gaps.length > 0;
  }

  /**
   * The rows of `read` that are now final, in id order, and the position moved past them. Rows
   * behind an undecided id are left for a later read (which sees them again: it reads after the
   * position).
   */
  advance<R extends { id: number }>(read: LogRead<R>): R[] {
    const out: R[] = [];
    const gaps: Gap[] = [];
    let blocked = false;
    let next = this.pos + 1;
    for (const row of read.rows) {
      if (row.id < next) continue;
      if (row.id > next) {
        const gap = { from: next, to: row.id - 1, xmax: this.recorded(next, row.id - 1, read.xmax) };
        gaps.push(gap);
        if (read.xmin < gap.xmax) blocked = true;
      }
      if (!blocked) {
        out.push(row);
        this.pos = row.id;
      }
      next = row.id + 1;
    }
    this.gaps = gaps.filter((g) => g.from > this.pos);
    return out;
  }

  /**
   * The `xmax` a gap from `from` to `to` waits for: the largest recorded by the reads that saw its
   * ids missing before (a row that came in the meantime splits a gap, its parts keep the value);
   * `now` (this read's xmax, never smaller) when part of it is new: ids of rows deleted since, or
   * never seen missing.
   */
  private recorded(from: number, to: number, now: bigint): bigint {
    let covered = 0;
    let xmax = 0n;
    for (const g of this.gaps) {
      const lo = Math.max(from, g.from);
      const hi = Math.min(to, g.to);
      if (lo > hi) continue;
      covered += hi - lo + 1;
      if (g.xmax > xmax) xmax = g.xmax;
    }
    return covered === to - from + 1 ? xmax : now;
  }
}
