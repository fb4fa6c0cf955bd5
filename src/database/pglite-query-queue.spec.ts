import { PGliteQueryQueue, type QueueDatabase } from './pglite-query-queue';

/** A protocol message: its type, and for a Query its text. */
function message(type: string, text = ''): Uint8Array {
  const body = Buffer.from(type === 'Q' ? `${text}\0` : text);
  const m = Buffer.alloc(5 + body.length);
  m.write(type, 0);
  m.writeInt32BE(4 + body.length, 1);
  body.copy(m, 5);
  return new Uint8Array(m);
}

/**
 * PGlite as the queue sees it: runs one message at a time (each takes a turn of the event loop,
 * so that others can be enqueued meanwhile), logs `handler:type[text]`, and is in a transaction
 * between a Query BEGIN and a Query COMMIT or ROLLBACK. A Query `fail` throws.
 */
class FakeDb implements QueueDatabase {
  log: string[] = [];
  inTransaction = false;
  running = 0;
  by = 0;

  isInTransaction(): boolean {
    return this.inTransaction;
  }

  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async execProtocolRawStream(m: Uint8Array, { onRawData }: { onRawData: (data: Uint8Array) => void }): Promise<void> {
    expect(this.running).toBe(0);
    this.running++;
    await new Promise((resolve) => setImmediate(resolve));
    const type = String.fromCharCode(m[0]);
    const text = type === 'Q' ? Buffer.from(m.subarray(5, m.length - 1)).toString() : '';
    this.log.push(`${this.by}:${type}${text ? ` ${text}` : ''}`);
    this.running--;
    if (text === 'BEGIN') this.inTransaction = true;
    if (text === 'COMMIT' || text === 'ROLLBACK') this.inTransaction = false;
    if (text === 'fail') throw new Error('fail');
    onRawData(new Uint8Array([type.charCodeAt(0)]));
  }
}

describe('PGliteQueryQueue', () => {
  let db: FakeDb;
  let queue: PGliteQueryQueue;

  beforeEach(() => {
    db = new FakeDb();
    queue = new PGliteQueryQueue(db);
  });

  /** A connection as pglite-socket's handler drives it: one message enqueued after the other. */
  async function connection(id: number, messages: [string, string?][]): Promise<string[]> {
    const answers: string[] = [];
    for (const [type, text] of messages) {
      await queue.enqueue(id, message(type, text), (data) => answers.push(String.fromCharCode(data[0])));
    }
    return answers;
  }

  /** Logs the connection of each message: the fake learns it from the message's answer callback. */
  function byConnection(): void {
    const enqueue = queue.enqueue.bind(queue);
    const exec = db.execProtocolRawStream.bind(db);
    const owners = new Map<Uint8Array, number>();
    queue.enqueue = (id, m, onData) => {
      owners.set(m, id);
      return enqueue(id, m, onData);
    };
    db.execProtocolRawStream = (m, options) => {
      db.by = owners.get(m) ?? 0;
      return exec(m, options);
    };
  }

  beforeEach(() => byConnection());

  const EXTENDED: [string][] = [['P'], ['B'], ['D'], ['E'], ['S']];

  it('runs a connection’s Parse … Sync whole, another connection waiting for its Sync', async () => {
    await Promise.all([connection(1, EXTENDED), connection(2, EXTENDED), connection(3, [['Q', 'SELECT 1']])]);
    // Each connection's five messages in a row, the simple query before, between or after them.
    const connections = db.log.map((l) => l.split(':')[0]);
    for (const id of ['1', '2']) {
      const at = connections.indexOf(id);
      expect(db.log.slice(at, at + 5)).toEqual(['P', 'B', 'D', 'E', 'S'].map((t) => `${id}:${t}`));
    }
    expect(db.log).toHaveLength(11);
  });

  it('lets simple queries of several connections alternate (each Query is whole by itself)', async () => {
    await Promise.all([
      connection(1, [
        ['Q', 'a'],
        ['Q', 'b'],
      ]),
      connection(2, [
        ['Q', 'c'],
        ['Q', 'd'],
      ]),
    ]);
    expect(db.log).toEqual(['1:Q a', '2:Q c', '1:Q b', '2:Q d']);
  });

  it('keeps a connection exclusive during its explicit transaction, as the library does', async () => {
    await Promise.all([
      connection(1, [['Q', 'BEGIN'], ['P'], ['B'], ['E'], ['S'], ['Q', 'x'], ['Q', 'COMMIT']]),
      connection(2, [['Q', 'y'], ...EXTENDED]),
    ]);
    const begin = db.log.indexOf('1:Q BEGIN');
    expect(db.log.slice(begin, begin + 7)).toEqual(['1:Q BEGIN', '1:P', '1:B', '1:E', '1:S', '1:Q x', '1:Q COMMIT']);
    expect(db.log).toHaveLength(13);
  });

  it('releases a connection that detaches mid-sequence: rolls its statement back and ends it with a Sync', async () => {
    const one = connection(1, [['P'], ['B'], ['E']]);
    await one;
    const two = connection(2, [['Q', 'after']]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(db.log).toEqual(['1:P', '1:B', '1:E']); // waiting for 1's Sync
    queue.clearQueueForHandler(1);
    await queue.clearTransactionIfNeeded(1);
    await two;
    expect(db.log).toEqual(['1:P', '1:B', '1:E', '0:Q ROLLBACK', '0:S', '2:Q after']);
  });

  it('rolls back the transaction of a connection that detaches, and serves the others', async () => {
    await connection(1, [['Q', 'BEGIN']]);
    const two = connection(2, [['Q', 'after']]);
    const dropped = connection(3, [['Q', 'never']]);
    expect(queue.getQueueLength()).toBe(2); // waiting for 1's COMMIT
    queue.clearQueueForHandler(3);
    await expect(dropped).rejects.toThrow('Handler disconnected');
    queue.clearQueueForHandler(1);
    await queue.clearTransactionIfNeeded(1);
    await two;
    expect(db.log).toEqual(['1:Q BEGIN', '0:Q ROLLBACK', '2:Q after']);
    expect(db.inTransaction).toBe(false);
  });

  it('leaves the session alone when a connection that holds nothing detaches', async () => {
    await connection(1, [['Q', 'a'], ...EXTENDED]);
    await queue.clearTransactionIfNeeded(1);
    await queue.clearTransactionIfNeeded(7);
    expect(db.log).toEqual(['1:Q a', '1:P', '1:B', '1:D', '1:E', '1:S']);
  });

  it('rejects a message that throws and goes on with the queue', async () => {
    const failed = connection(1, [['Q', 'fail']]);
    const two = connection(2, [['Q', 'next']]);
    await expect(failed).rejects.toThrow('fail');
    await expect(two).resolves.toEqual(['Q']);
    expect(queue.getQueueLength()).toBe(0);
  });
});
