import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';

const lane = new AsyncLocalStorage<'background'>();

/**
 * Runs `fn` (and everything it starts: promises, timers) as background work: the IMAP poller,
 * the outbox and webhook dispatchers, the SLA monitor. Their requests for a pooled connection are
 * granted after those of the API (PriorityPool).
 */
export function runInBackground<T>(fn: () => T): T {
  return lane.run('background', fn);
}

/** Whether the caller runs as background work (runInBackground). */
export function inBackground(): boolean {
  return lane.getStore() === 'background';
}

/**
 * How long a background request for a connection may be passed over by the API's before it is
 * served first anyway: background work slows down under a flood of API calls, but never stops.
 */
export const BACKGROUND_MAX_WAIT_MS = 2_000;

type Done = (err?: Error | boolean) => void;
type Callback = (err: Error | undefined, client?: pg.PoolClient, done?: Done) => void;

interface Waiter {
  cb: Callback;
  since: number;
  lane: PoolLane;
  timer?: NodeJS.Timeout;
}

/** Whose request for a connection: the API's (anything not in runInBackground) or a background job's. */
export type PoolLane = 'api' | 'background';

/** The event a PriorityPool emits each time it hands out a connection: how long that request waited. */
export const POOL_WAIT_EVENT = 'maildesk:wait';

/**
 * pg's Pool, but a connection that comes free goes to a waiting API request before a waiting
 * background one (runInBackground), unless that one waited BACKGROUND_MAX_WAIT_MS already;
 * without waiters it is pg's Pool unchanged.
 *
 * Why: on the embedded database the app has ONE pooled connection (EMBEDDED_POOL_SIZE: PGlite is
 * one session, and pglite-socket interleaves the extended-protocol messages of concurrent
 * connections), so every query of every job queues for it. In pg's first-come queue a login or a
 * list waited behind every ingest transaction the IMAP poller had queued (8 at once), and the
 * outbox's and the webhooks' rounds: with 1,000 mails being imported, lists took 180 ms at p50 and
 * 770 ms at p99 (issue 16; 2 busy cores). Here an API request waits for at most the one statement
 * or transaction holding the connection, and the API requests ahead of it (measured the same way:
 * 305 of 306 waits within 50 ms, lists 15 ms at p50 and 82 ms at p99; with yieldToApi as well,
 * src/runtime/api-activity.ts, lists 8 ms at p50 and 28 ms at p99). On PostgreSQL (10
 * connections by default) the order matters only when the pool is exhausted, and then the API goes
 * first too.
 *
 * Each grant emits POOL_WAIT_EVENT (lane, seconds waited): the metric
 * maildesk_db_connection_wait_seconds. The queue is kept here, in front of pg's, so that pg's own
 * queue stays empty: a waiter is only handed to pg's connect() when a connection is free for it.
 */
export class PriorityPool extends pg.Pool {
  private checkedOut = 0;
  private readonly api: Waiter[] = [];
  private readonly background: Waiter[] = [];

  // pg's overloads: connect() -> Promise, connect(cb) -> void.
  override connect(): Promise<pg.PoolClient>;
  override connect(cb: Callback): void;
  override connect(cb?: Callback): Promise<pg.PoolClient> | void {
    if (!cb) {
      return new Promise((resolve, reject) => this.connect((err, client) => (err ? reject(err) : resolve(client!))));
    }
    const waiter: Waiter = { cb, since: Date.now(), lane: inBackground() ? 'background' : 'api' };
    if (this.checkedOut < this.limit() && !this.api.length && !this.background.length) return this.grant(waiter);
    const queue = waiter.lane === 'background' ? this.background : this.api;
    queue.push(waiter);
    const timeout = this.options.connectionTimeoutMillis;
    if (timeout) {
      waiter.timer = setTimeout(() => {
        const i = queue.indexOf(waiter);
        if (i < 0) return;
        queue.splice(i, 1);
        cb(new Error('timeout exceeded when trying to connect'));
      }, timeout);
    }
  }

  /** Waiters queued here (pg's own waitingCount is always 0). */
  get queued(): { api: number; background: number } {
    return { api: this.api.length, background: this.background.length };
  }

  // pg's overloads: end() -> Promise, end(cb) -> void (TypeORM passes a callback).
  override end(): Promise<void>;
  override end(cb: (err?: Error) => void): void;
  override end(cb?: (err?: Error) => void): Promise<void> | void {
    for (const w of this.api.splice(0).concat(this.background.splice(0))) {
      clearTimeout(w.timer);
      w.cb(new Error('Cannot use a pool after calling end on the pool'));
    }
    const ended = super.end();
    if (!cb) return ended;
    ended.then(() => cb(), cb);
  }

  private limit(): number {
    return this.options.max ?? 10;
  }

  private grant(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.checkedOut++;
    this.emit(POOL_WAIT_EVENT, waiter.lane, (Date.now() - waiter.since) / 1000);
    super.connect((err, client, pgDone) => {
      if (err || !client) {
        this.freed();
        waiter.cb(err ?? new Error('no connection'));
        return;
      }
      let released = false;
      const done: Done = (e) => {
        if (released) return pgDone(e);
        released = true;
        this.freed();
        return pgDone(e);
      };
      client.release = done;
      waiter.cb(undefined, client, done);
    });
  }

  private freed(): void {
    this.checkedOut--;
    while (this.checkedOut < this.limit()) {
      const next = this.next();
      if (!next) return;
      this.grant(next);
    }
  }

  /** The API's first waiter, unless the first background one waited too long already. */
  private next(): Waiter | undefined {
    const bg = this.background[0];
    if (bg && (!this.api.length || Date.now() - bg.since >= BACKGROUND_MAX_WAIT_MS)) return this.background.shift();
    return this.api.shift();
  }
}

/** The `pg` module with PriorityPool as its Pool: what TypeORM is given as its driver. */
export const prioritizedPg: typeof pg = Object.assign(Object.create(pg) as typeof pg, { Pool: PriorityPool });
