import type { LogRead } from './event-log-cursor';
import { EventSubscriber, LiveEventsHub, START_WINDOW } from './live-events.hub';
import type { EventLogStore, LiveEvent } from './live-events.repository';

/**
 * The event log as PostgreSQL shows it: ids taken at insert, rows visible at commit, transaction
 * ids in a snapshot (xmin: the oldest running; xmax: the next to be given).
 */
class FakeLog implements EventLogStore {
  readonly batch = 3;
  private nextXid = 100;
  private nextId = 1;
  private readonly running = new Set<number>();
  private readonly rows: Array<{ id: number; xid: number; committed: boolean; aborted: boolean }> = [];
  reads = 0;

  begin(): number {
    const xid = this.nextXid++;
    this.running.add(xid);
    return xid;
  }
  insert(xid: number): number {
    const id = this.nextId++;
    this.rows.push({ id, xid, committed: false, aborted: false });
    return id;
  }
  commit(xid: number): void {
    this.running.delete(xid);
    for (const r of this.rows) if (r.xid === xid) r.committed = true;
  }
  rollback(xid: number): void {
    this.running.delete(xid);
    for (const r of this.rows) if (r.xid === xid) r.aborted = true;
  }
  /** One committed transaction of `n` events. */
  write(n = 1): number[] {
    const xid = this.begin();
    const ids = Array.from({ length: n }, () => this.insert(xid));
    this.commit(xid);
    return ids;
  }

  latestId(): Promise<number> {
    return Promise.resolve(this.rows.reduce((m, r) => Math.max(m, r.id), 0));
  }
  readAfter(position: number): Promise<LogRead<LiveEvent>> {
    this.reads++;
    const xmax = this.nextXid;
    const xmin = Math.min(xmax, ...this.running);
    const rows = this.rows
      .filter((r) => r.committed && r.id > position)
      .sort((a, b) => a.id - b.id)
      .slice(0, this.batch)
      .map((r) => event(r.id));
    return Promise.resolve({ xmin: BigInt(xmin), xmax: BigInt(xmax), rows });
  }
  replay(): Promise<LiveEvent[]> {
    return Promise.resolve([]);
  }
}

function event(id: number): LiveEvent {
  return {
    id,
    requestId: 1,
    type: 'note',
    actor: 'system',
    operatorId: null,
    data: {},
    createdAt: new Date(0).toISOString(),
    groupId: null,
    status: 'new',
  };
}

class Collector implements EventSubscriber {
  ids: number[] = [];
  closed = false;
  deliver(events: readonly LiveEvent[]): void {
    this.ids.push(...events.map((e) => e.id));
  }
  close(): void {
    this.closed = true;
  }
}

/** Lets the hub's reads (promises, and its 1 ms retry timer) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 2));
}

describe('LiveEventsHub', () => {
  let log: FakeLog;
  let hub: LiveEventsHub;

  beforeEach(() => {
    log = new FakeLog();
    hub = new LiveEventsHub(log, { gapRetryMs: 1, errorRetryMs: 1, pollMs: 3_600_000 });
  });
  afterEach(() => hub.close());

  it('starts from now: a stream gets the events committed after it joined, in id order, batch after batch', async () => {
    log.write(2);
    const a = new Collector();
    expect(await hub.subscribe(a)).toBe(2);
    const ids = [...log.write(4), ...log.write(3)];
    hub.wake();
    await settle();
    expect(a.ids).toEqual(ids);
  });

  it('hands every stream the same events once, however often it is woken', async () => {
    const a = new Collector();
    const b = new Collector();
    await hub.subscribe(a);
    await hub.subscribe(b);
    const ids = log.write(2);
    hub.wake();
    hub.wake();
    hub.wake();
    await settle();
    expect(a.ids).toEqual(ids);
    expect(b.ids).toEqual(ids);
  });

  it('holds a later id back until the earlier one commits (out-of-order commit), then delivers both in order', async () => {
    const a = new Collector();
    await hub.subscribe(a);
    const first = log.begin();
    const low = log.insert(first);
    const [high] = log.write(1);
    hub.wake();
    await settle();
    expect(a.ids).toEqual([]);
    log.commit(first);
    hub.wake();
    await settle();
    expect(a.ids).toEqual([low, high]);
  });

  it('does not wait for ever on an id whose transaction rolled back (it reads again by itself)', async () => {
    const a = new Collector();
    await hub.subscribe(a);
    const first = log.begin();
    log.insert(first);
    const [high] = log.write(1);
    hub.wake();
    await settle();
    expect(a.ids).toEqual([]);
    log.rollback(first);
    // No wake: a rollback NOTIFYs nobody; the hub's retry finds it.
    await settle();
    expect(a.ids).toEqual([high]);
  });

  it('resolves a stream joining at a position that covers everything delivered before', async () => {
    const a = new Collector();
    await hub.subscribe(a);
    log.write(2);
    hub.wake();
    await settle();
    const b = new Collector();
    const position = await hub.subscribe(b);
    expect(position).toBe(2);
    const [next] = log.write(1);
    hub.wake();
    await settle();
    expect(b.ids).toEqual([next]);
    expect(a.ids).toEqual([1, 2, next]);
  });

  it('stops reading when its last stream leaves, and starts again a window below the newest id', async () => {
    const a = new Collector();
    await hub.subscribe(a);
    hub.unsubscribe(a);
    expect(hub.position).toBeNull();
    log.write(START_WINDOW + 5);
    const reads = log.reads;
    hub.wake();
    await settle();
    expect(log.reads).toBe(reads);
    const b = new Collector();
    expect(await hub.subscribe(b)).toBe(START_WINDOW + 5);
    expect(b.ids).toEqual([]);
  });

  it('closes every stream on shutdown and refuses new ones', async () => {
    const a = new Collector();
    await hub.subscribe(a);
    hub.close();
    expect(a.closed).toBe(true);
    await expect(hub.subscribe(new Collector())).rejects.toThrow(/closed/);
  });
});
