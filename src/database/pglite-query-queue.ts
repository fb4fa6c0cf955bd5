/**
 * The order in which the embedded database runs its connections' protocol messages.
 *
 * Why: PGlite is ONE backend session, and pglite-socket serves it to several sockets (the `pg`
 * pool's connections). Its handler splits each connection's bytes into protocol messages and
 * hands them one by one to the server's `queryQueue` (a QueryQueueManager), which runs them in
 * arrival order, keeping one connection exclusive only while `db.isInTransaction()` (an explicit
 * BEGIN ... COMMIT). An extended-protocol query is several messages (Parse, Bind, Describe,
 * Execute, Sync) whose state lives in the session: the unnamed statement, the unnamed portal,
 * the implicit transaction, the skip-till-Sync after an error. Outside an explicit transaction two
 * connections' sequences interleaved, so one's Bind met the other's unnamed statement (CI:
 * `unnamed prepared statement does not exist`, code 26000) or ran in its implicit transaction.
 * The library's queue also stalls for good once one message throws (it never clears its
 * `processing` flag).
 *
 * What ours changes: a connection is exclusive from its first extended-protocol message (Parse,
 * Bind, Describe, Execute, Close, Flush) until its Sync has run, and, as the library's, for as long
 * as it has an explicit transaction open; a simple Query is atomic by itself. While a connection is
 * exclusive and has nothing queued the queue waits for it (its next message is usually a microtask
 * away), and releases it when it detaches: the handler calls clearQueueForHandler and then
 * clearTransactionIfNeeded, which (inside the queue, so after a message of it still running) ends
 * its half-done sequence (a ROLLBACK, then a Sync: a client gone mid-query commits nothing) and
 * rolls back its transaction. A failing message rejects its own promise and the queue goes on.
 *
 * Installed by replacing `server.queryQueue` right after `new PGLiteSocketServer(...)` and before
 * `start()` (embedded-postgres.ts): the handlers take it when a connection arrives, and call only
 * enqueue, clearQueueForHandler, clearTransactionIfNeeded; the server getQueueLength
 * (pglite-socket 0.2).
 */
export interface QueueDatabase {
  isInTransaction(): boolean;
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
  execProtocolRawStream(message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }): Promise<void>;
}

interface Entry {
  handlerId: number;
  /** Undefined for a detached connection's release (clearTransactionIfNeeded). */
  message?: Uint8Array;
  onData?: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (e: Error) => void;
}

/** Parse, Bind, Describe, Execute, Close, Flush: the messages that leave session state until Sync. */
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));
const SYNC = 'S'.charCodeAt(0);
const TERMINATE = 'X'.charCodeAt(0);

export class PGliteQueryQueue {
  private queue: Entry[] = [];
  private processing = false;
  /** The connection that has the session to itself, or null. */
  private owner: number | null = null;
  /** Connections between their first extended-protocol message and its Sync. */
  private readonly extended = new Set<number>();
  /** The connection whose message (or release) is running. */
  private current: number | null = null;

  constructor(private readonly db: QueueDatabase) {}

  /** Runs `message` of connection `handlerId` in its turn; `onData` gets the response's bytes. */
  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.process();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  /** A connection is detaching: its queued messages are dropped (rejected, as the library does). */
  clearQueueForHandler(handlerId: number): void {
    this.queue = this.queue.filter((e) => {
      if (e.handlerId !== handlerId) return true;
      e.reject(new Error('Handler disconnected'));
      return false;
    });
  }

  /**
   * A connection is detaching: if it holds the session (a sequence without its Sync, or a
   * transaction), ends that and releases the session. Runs in the queue, after any message of it
   * still running.
   */
  clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId && this.current !== handlerId) {
      this.extended.delete(handlerId);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ handlerId, resolve: () => resolve(), reject });
      void this.process();
    });
  }

  private next(): Entry | undefined {
    for (;;) {
      const index =
        this.owner === null ? (this.queue.length ? 0 : -1) : this.queue.findIndex((e) => e.handlerId === this.owner);
      if (index === -1) return undefined; // the owner's next message is on its way (or its release)
      const entry = this.queue.splice(index, 1)[0];
      // A release of a connection that does not hold the session: nothing to end.
      if (!entry.message && entry.handlerId !== this.owner) {
        this.extended.delete(entry.handlerId);
        entry.resolve(0);
        continue;
      }
      return entry;
    }
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      for (let entry = this.next(); entry; entry = this.next()) {
        this.current = entry.handlerId;
        if (entry.message) await this.run(entry, entry.message);
        else await this.release(entry);
      }
    } finally {
      this.current = null;
      this.processing = false;
    }
  }

  private async run(entry: Entry, message: Uint8Array): Promise<void> {
    const id = entry.handlerId;
    const type = message[0];
    if (EXTENDED.has(type)) this.extended.add(id);
    let bytes = 0;
    try {
      await this.db.runExclusive(() =>
        this.db.execProtocolRawStream(message, {
          onRawData: (data) => {
            bytes += data.length;
            entry.onData?.(data);
          },
        }),
      );
    } catch (e) {
      this.settle(id, type);
      entry.reject(e as Error);
      return;
    }
    this.settle(id, type);
    entry.resolve(bytes);
  }

  /** Who holds the session after connection `id`'s message of `type` ran. */
  private settle(id: number, type: number): void {
    if (type === SYNC || type === TERMINATE) this.extended.delete(id);
    this.owner = this.extended.has(id) || this.db.isInTransaction() ? id : null;
  }

  private async release(entry: Entry): Promise<void> {
    const id = entry.handlerId;
    try {
      await this.db.runExclusive(async () => {
        const discard = { onRawData: () => {} };
        if (this.extended.has(id)) {
          // Aborts the implicit transaction (ignored while skipping till Sync); the Sync then ends it.
          await this.db.execProtocolRawStream(simpleQuery('ROLLBACK'), discard);
          await this.db.execProtocolRawStream(SYNC_MESSAGE, discard);
        }
        if (this.db.isInTransaction()) await this.db.execProtocolRawStream(simpleQuery('ROLLBACK'), discard);
      });
      entry.resolve(0);
    } catch (e) {
      entry.reject(e as Error);
    } finally {
      this.extended.delete(id);
      this.owner = null;
    }
  }
}

const SYNC_MESSAGE = new Uint8Array([SYNC, 0, 0, 0, 4]);

/** A Query ('Q') message: type, length, the text NUL-terminated. */
function simpleQuery(text: string): Uint8Array {
  const body = Buffer.from(`${text}\0`, 'utf8');
  const message = Buffer.alloc(5 + body.length);
  message[0] = 'Q'.charCodeAt(0);
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return new Uint8Array(message);
}
