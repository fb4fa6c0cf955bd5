import { EventLogCursor, LogRead } from './event-log-cursor';

const rows = (...ids: number[]) => ids.map((id) => ({ id }));
const read = (xmin: number, xmax: number, ...ids: number[]): LogRead<{ id: number }> => ({
  xmin: BigInt(xmin),
  xmax: BigInt(xmax),
  rows: rows(...ids),
});
const delivered = (out: Array<{ id: number }>) => out.map((r) => r.id);

describe('EventLogCursor', () => {
  it('delivers consecutive ids at once and advances past them', () => {
    const c = new EventLogCursor(10);
    expect(delivered(c.advance(read(100, 100, 11, 12, 13)))).toEqual([11, 12, 13]);
    expect(c.position).toBe(13);
    expect(c.waiting).toBe(false);
  });

  it('holds a later id back while an earlier one may still commit, then delivers both in id order', () => {
    const c = new EventLogCursor(10);
    // 11 is uncommitted (its writer, xid 95, is running: xmin 95 < xmax 100); 12 committed.
    expect(delivered(c.advance(read(95, 100, 12)))).toEqual([]);
    expect(c.position).toBe(10);
    expect(c.waiting).toBe(true);
    // Still running on the next read (xmin has not reached 100): still held.
    expect(delivered(c.advance(read(95, 103, 12, 13)))).toEqual([]);
    // 11 commits: both come, in order.
    expect(delivered(c.advance(read(103, 103, 11, 12, 13)))).toEqual([11, 12, 13]);
    expect(c.waiting).toBe(false);
  });

  it('gives up on an id whose writer is over without it (rolled back), and only then', () => {
    const c = new EventLogCursor(10);
    expect(delivered(c.advance(read(95, 100, 12)))).toEqual([]);
    // Newer transactions do not matter: xmin 99 is below the 100 recorded when 11 was first missed.
    expect(delivered(c.advance(read(99, 120, 12)))).toEqual([]);
    // Every transaction below 100 is over and 11 is still missing: it never will be.
    expect(delivered(c.advance(read(100, 120, 12)))).toEqual([12]);
    expect(c.position).toBe(12);
    expect(c.waiting).toBe(false);
  });

  it('keeps the bound first recorded for a gap that a late row split in two', () => {
    const c = new EventLogCursor(0);
    // 1..4 missing under xmax 50; 5 visible.
    expect(delivered(c.advance(read(40, 50, 5)))).toEqual([]);
    // 2 arrived; 1, 3 and 4 still missing; xmin 49 < 50: held (the later read's xmax 70 is not used).
    expect(delivered(c.advance(read(49, 70, 2, 5)))).toEqual([]);
    // xmin 50: every writer of the first read is over: 1, 3, 4 never come.
    expect(delivered(c.advance(read(50, 70, 2, 5)))).toEqual([2, 5]);
  });

  it('waits for a row that vanished before it was delivered only as for a new gap', () => {
    const c = new EventLogCursor(0);
    expect(delivered(c.advance(read(10, 20, 2, 3)))).toEqual([]);
    // 3 was deleted (a customer erased) while 1 is still undecided: 3 is a new gap, bound 30.
    expect(delivered(c.advance(read(19, 30, 2, 4)))).toEqual([]);
    // 1 came: 1 and 2 go; 3 waits for 30.
    expect(delivered(c.advance(read(25, 30, 1, 2, 4)))).toEqual([1, 2]);
    expect(delivered(c.advance(read(30, 30, 4)))).toEqual([4]);
  });

  it('delivers what precedes the first undecided id and holds only the rest', () => {
    const c = new EventLogCursor(0);
    expect(delivered(c.advance(read(5, 9, 1, 2, 4, 5)))).toEqual([1, 2]);
    expect(c.position).toBe(2);
    expect(delivered(c.advance(read(9, 9, 4, 5)))).toEqual([4, 5]);
  });

  it('advances over a jump of the sequence at once when nothing is running', () => {
    const c = new EventLogCursor(100);
    expect(delivered(c.advance(read(500, 500, 133)))).toEqual([133]);
  });
});
