import { EventEmitter } from 'node:events';
import { LiveEventStream, SseSink, StreamLimits } from './live-event-stream';
import type { LiveEvent } from './live-events.repository';

/** A response whose client reads nothing: everything written stays buffered until `take()`. */
class Sink extends EventEmitter implements SseSink {
  written: string[] = [];
  writableLength = 0;
  destroyed = false;
  endedCleanly = false;
  constructor(private readonly highWaterMark = 1_000) {
    super();
  }
  write(chunk: string): boolean {
    this.written.push(chunk);
    this.writableLength += chunk.length;
    return this.writableLength < this.highWaterMark;
  }
  /** The client read everything. */
  take(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
  end(): void {
    this.endedCleanly = true;
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  ids(): number[] {
    return this.written.flatMap((w) => [...w.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])));
  }
}

const LIMITS: StreamLimits = { maxBufferedBytes: 10_000, maxQueued: 5, heartbeatMs: 3_600_000, retryMs: 3_000 };

function event(id: number, groupId: number | null = 1): LiveEvent {
  return {
    id,
    requestId: 7,
    type: 'message',
    actor: 'customer',
    operatorId: null,
    data: { note: 'x' },
    createdAt: new Date(0).toISOString(),
    groupId,
    status: 'new',
  };
}

const ADMIN = { role: 'admin' as const, groupIds: [] };

describe('LiveEventStream', () => {
  it('writes id, event and one line of JSON data per event, after the retry hint', async () => {
    const sink = new Sink();
    const s = new LiveEventStream(sink, ADMIN, 0, LIMITS, () => undefined);
    s.open();
    await s.replay(0, () => Promise.resolve([]));
    s.deliver([event(1)]);
    expect(sink.written[0]).toMatch(/^retry: 3000\n/);
    expect(sink.written[1]).toBe(`id: 1\nevent: message\ndata: ${JSON.stringify(event(1))}\n\n`);
    s.close();
  });

  it('replays the missed events, keeps live ones that come meanwhile, and sends each once in order', async () => {
    const sink = new Sink();
    const s = new LiveEventStream(sink, ADMIN, 3, LIMITS, () => undefined);
    s.open();
    const batches = [[event(4), event(5)], [event(6)], []];
    await s.replay(6, () => {
      // A live batch overlapping the replay's end arrives while it reads.
      s.deliver([event(6), event(7)]);
      return Promise.resolve(batches.shift()!);
    });
    s.deliver([event(7), event(8)]);
    expect(sink.ids()).toEqual([4, 5, 6, 7, 8]);
    s.close();
  });

  it("leaves out requests outside the operator's groups", async () => {
    const sink = new Sink();
    const s = new LiveEventStream(sink, { role: 'operator', groupIds: [2] }, 0, LIMITS, () => undefined);
    s.open();
    await s.replay(0, () => Promise.resolve([]));
    s.deliver([event(1, 1), event(2, 2), event(3, null)]);
    expect(sink.ids()).toEqual([2]);
    s.close();
  });

  it('drops a client that does not read once the unread bytes pass the bound, and says it ended', async () => {
    const sink = new Sink(100);
    let ended = 0;
    const s = new LiveEventStream(sink, ADMIN, 0, { ...LIMITS, maxBufferedBytes: 2_000 }, () => ended++);
    s.open();
    await s.replay(0, () => Promise.resolve([]));
    for (let id = 1; id <= 100 && !sink.destroyed; id++) s.deliver([event(id)]);
    expect(sink.destroyed).toBe(true);
    expect(ended).toBe(1);
    const written = sink.written.length;
    s.deliver([event(1000)]);
    expect(sink.written.length).toBe(written);
  });

  it('drops a stream whose replay falls too far behind the live events', async () => {
    const sink = new Sink();
    const s = new LiveEventStream(sink, ADMIN, 0, LIMITS, () => undefined);
    s.open();
    let release!: () => void;
    const replaying = s.replay(100, () => new Promise<LiveEvent[]>((r) => (release = () => r([]))));
    s.deliver([101, 102, 103, 104, 105, 106].map((id) => event(id)));
    expect(sink.destroyed).toBe(true);
    release();
    await replaying;
  });

  it('waits for the client to take a replayed batch before reading the next', async () => {
    const sink = new Sink(50);
    const s = new LiveEventStream(sink, ADMIN, 0, LIMITS, () => undefined);
    s.open();
    let reads = 0;
    const replaying = s.replay(4, (after) => {
      reads++;
      return Promise.resolve(after < 4 ? [event(after + 1), event(after + 2)] : []);
    });
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(1);
    sink.take();
    await new Promise((r) => setImmediate(r));
    sink.take();
    await replaying;
    expect(sink.ids()).toEqual([1, 2, 3, 4]);
    s.close();
  });

  it('ends cleanly on close (shutdown), heartbeat stopped', () => {
    const sink = new Sink();
    let ended = 0;
    const s = new LiveEventStream(sink, ADMIN, 0, { ...LIMITS, heartbeatMs: 1 }, () => ended++);
    s.open();
    s.close();
    expect(sink.endedCleanly).toBe(true);
    expect(ended).toBe(1);
  });
});
