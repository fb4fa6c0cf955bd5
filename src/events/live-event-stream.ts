import { canSeeRequest, type RequestActor } from '../requests/request-scope';
import type { EventSubscriber } from './live-events.hub';
import type { LiveEvent } from './live-events.repository';

/** What a stream writes to: the HTTP response (node's ServerResponse), or a fake in unit tests. */
export interface SseSink {
  write(chunk: string): boolean;
  readonly writableLength: number;
  readonly destroyed: boolean;
  end(): void;
  destroy(): void;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

export interface StreamLimits {
  /** Bytes written but not yet taken by the client past which it is dropped (it resumes with Last-Event-ID). */
  maxBufferedBytes: number;
  /** Live events kept while the missed ones are replayed, past which the stream is dropped. */
  maxQueued: number;
  /** Milliseconds between heartbeat comments. */
  heartbeatMs: number;
  /** The `retry:` hint: how long EventSource waits before reconnecting. */
  retryMs: number;
}

/** The text of one SSE event: `id:` the event's id, `event:` its type, `data:` the event as JSON (one line). */
export function formatEvent(e: LiveEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

/**
 * One operator's open stream (Server-Sent Events): the missed events first (a resume), then the
 * hub's live ones, each once and in id order, only those of requests the operator may see
 * (request-scope.ts, with the groups read when the stream opened). A client that does not read
 * is dropped once MAX buffered bytes wait for it, rather than buffered without bound; it resumes
 * with Last-Event-ID and loses nothing.
 */
export class LiveEventStream implements EventSubscriber {
  /** Live events that came during the replay; null once live. */
  private queue: LiveEvent[] | null = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private ended = false;
  /** The last write was refused by the socket's buffer ('drain' will come). */
  private congested = false;

  constructor(
    private readonly sink: SseSink,
    private readonly actor: RequestActor,
    /** The last event the client has: only later ones are sent. */
    private after: number,
    private readonly limits: StreamLimits,
    private readonly onEnd: () => void,
  ) {
    sink.once('close', () => this.finish());
  }

  /** Whether the stream is over (closed, dropped, or its client went away). */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Sends only events after `after` (the client's Last-Event-ID, or the hub's position: from now). */
  resumeAfter(after: number): void {
    this.after = after;
  }

  /** The stream's opening: the reconnection hint and a comment (the headers and a first byte reach the client). */
  open(): void {
    if (this.ended) return;
    this.sink.write(`retry: ${this.limits.retryMs}\n: connected\n\n`);
    this.heartbeat = setInterval(() => this.send(': heartbeat\n\n'), this.limits.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * Sends the events after `this.after` up to `upTo` that `readBatch` gives (in id order, a batch
   * at a time, [] at the end), waiting for the client to take each batch; then goes live.
   */
  async replay(upTo: number, readBatch: (after: number) => Promise<LiveEvent[]>): Promise<void> {
    while (!this.ended && this.after < upTo) {
      const batch = await readBatch(this.after);
      if (batch.length === 0) break;
      for (const e of batch) this.write(e);
      // Replayed events are final: the next batch starts after the last one read, seen or not.
      this.after = Math.max(this.after, batch[batch.length - 1].id);
      if (this.congested) await this.drained();
    }
    this.after = Math.max(this.after, upTo);
    const queued = this.queue ?? [];
    this.queue = null;
    if (!this.ended) for (const e of queued) this.write(e);
  }

  deliver(events: readonly LiveEvent[]): void {
    if (this.ended) return;
    if (this.queue) {
      this.queue.push(...events);
      if (this.queue.length > this.limits.maxQueued) this.drop();
      return;
    }
    for (const e of events) this.write(e);
  }

  close(): void {
    if (this.ended) return;
    this.sink.end();
    this.finish();
  }

  private write(e: LiveEvent): void {
    if (this.ended || e.id <= this.after || !canSeeRequest(this.actor, e.groupId)) return;
    this.after = e.id;
    this.send(formatEvent(e));
  }

  private send(text: string): void {
    if (this.ended) return;
    this.congested = !this.sink.write(text);
    if (this.sink.writableLength > this.limits.maxBufferedBytes) this.drop();
  }

  /** A client that does not keep up: the connection is cut (EventSource reconnects and resumes). */
  private drop(): void {
    if (this.ended) return;
    this.sink.destroy();
    this.finish();
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.sink.off('drain', done);
        this.sink.off('close', done);
        this.congested = false;
        resolve();
      };
      this.sink.once('drain', done);
      this.sink.once('close', done);
    });
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    this.queue = null;
    this.onEnd();
  }
}
