import { EventLogCursor } from './event-log-cursor';
import type { EventLogStore, LiveEvent } from './live-events.repository';

/** One open stream, as the hub sees it: it takes every final event and keeps what its operator may see. */
export interface EventSubscriber {
  deliver(events: readonly LiveEvent[]): void;
  /** The app is shutting down: end the stream. */
  close(): void;
}

/** How the hub paces its reads. */
export interface HubTiming {
  /** Read again this soon while an undecided id holds events back (nothing NOTIFYs a rollback). */
  gapRetryMs: number;
  /** Read again this soon after a failed read. */
  errorRetryMs: number;
  /** Read at least this often while streams are open, however the hub is woken (a safety net). */
  pollMs: number;
}

export const DEFAULT_TIMING: HubTiming = { gapRetryMs: 100, errorRetryMs: 1_000, pollMs: 2_000 };

/**
 * Ids below the newest at which the hub starts: an id still undecided there (its transaction
 * still open while this many later events committed) is taken as decided.
 */
export const START_WINDOW = 1_000;

/**
 * The live events of one instance: reads the event log (request_events) after its position when
 * woken (a NOTIFY from any instance, a commit in this process, a poll), advances past final ids only
 * (EventLogCursor), and hands each batch to every open stream. Runs only while streams are open:
 * with none, it forgets its position and the next stream starts it again a window below the
 * newest id. One read at a time; wakes during a read make one more read, not one each.
 */
export class LiveEventsHub {
  private cursor: EventLogCursor | null = null;
  private starting: Promise<EventLogCursor> | null = null;
  private readonly subscribers = new Set<EventSubscriber>();
  private pumping = false;
  private dirty = false;
  private idle: Array<(error?: Error) => void> = [];
  private retry: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: EventLogStore,
    private timing: HubTiming = DEFAULT_TIMING,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  /** Streams open now. */
  get size(): number {
    return this.subscribers.size;
  }

  /** Every event up to this id has been handed out (null: not running). */
  get position(): number | null {
    return this.cursor?.position ?? null;
  }

  /**
   * Adds a stream; resolves with the hub's position: the stream gets every event after it, the
   * ones before it (a resume) it reads from the log itself. Starts the hub when it was idle.
   */
  async subscribe(subscriber: EventSubscriber): Promise<number> {
    if (this.closed) throw new Error('the live event hub is closed');
    const cursor = this.cursor ?? (await this.start());
    if (this.closed) throw new Error('the live event hub is closed');
    // Synchronous from here: no batch is handed out between reading the position and joining.
    this.subscribers.add(subscriber);
    return cursor.position;
  }

  /** Removes a stream; the last one out stops the hub. */
  unsubscribe(subscriber: EventSubscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0 && !this.starting) this.stop();
  }

  /** Something may have been committed: read the log (coalesced with a read already under way). */
  wake(): void {
    if (!this.cursor || this.closed) return;
    this.dirty = true;
    if (!this.pumping) void this.pump();
  }

  /** Changes how often the hub reads without being woken (LISTEN up: rarely; down or absent: often). */
  setPollMs(ms: number): void {
    if (this.timing.pollMs === ms) return;
    this.timing = { ...this.timing, pollMs: ms };
    if (this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
      this.startPoll();
    }
  }

  /** Ends every stream and stops for good (app shutdown). */
  close(): void {
    this.closed = true;
    for (const s of [...this.subscribers]) s.close();
    this.subscribers.clear();
    this.stop();
  }

  private start(): Promise<EventLogCursor> {
    this.starting ??= (async () => {
      try {
        const latest = await this.store.latestId();
        const cursor = new EventLogCursor(Math.max(0, latest - START_WINDOW));
        this.cursor = cursor;
        this.startPoll();
        // The first reads bring it up to date before any stream joins (nobody gets the window).
        await this.settled();
        return cursor;
      } catch (e) {
        this.stop();
        throw e;
      } finally {
        this.starting = null;
      }
    })();
    return this.starting;
  }

  /** Resolves when a read made after this call is done (rejects when it failed). */
  private settled(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.idle.push((error) => (error ? reject(error) : resolve()));
      this.dirty = true;
      if (!this.pumping) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    let error: Error | undefined;
    try {
      while (this.dirty) {
        this.dirty = false;
        const cursor = this.cursor;
        if (!cursor) break;
        for (;;) {
          const read = await this.store.readAfter(cursor.position);
          if (cursor !== this.cursor) break;
          const events = cursor.advance(read);
          if (events.length) for (const s of [...this.subscribers]) s.deliver(events);
          // A full batch that was handed out in full: there may be more right behind it.
          if (cursor.waiting || read.rows.length < this.store.batch || events.length < read.rows.length) break;
        }
        if (cursor === this.cursor && cursor.waiting) this.retryIn(this.timing.gapRetryMs);
      }
    } catch (e) {
      error = e instanceof Error ? e : new Error('reading the event log failed');
      this.onError(e);
      this.retryIn(this.timing.errorRetryMs);
    } finally {
      this.pumping = false;
      const waiting = this.idle;
      this.idle = [];
      for (const done of waiting) done(error);
    }
  }

  private retryIn(ms: number): void {
    if (this.retry || this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.wake();
    }, ms);
    this.retry.unref();
  }

  private startPoll(): void {
    if (this.poll || this.closed) return;
    this.poll = setInterval(() => this.wake(), this.timing.pollMs);
    this.poll.unref();
  }

  private stop(): void {
    this.cursor = null;
    clearInterval(this.poll);
    clearTimeout(this.retry);
    this.poll = this.retry = undefined;
  }
}
