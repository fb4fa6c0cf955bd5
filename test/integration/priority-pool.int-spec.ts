import pg from 'pg';
import { BACKGROUND_MAX_WAIT_MS, PriorityPool, runInBackground } from '../../src/database/priority-pool';
import { createTestDatabase, forEachDatabase, TestDatabase } from '../setup/database';

/** The pool the app's DataSource uses: the API's requests for a connection go before background work's. */
forEachDatabase('PriorityPool', (kind) => {
  let db: TestDatabase;
  let pool: PriorityPool;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await db.drop();
  });
  beforeEach(() => {
    pool = new PriorityPool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 5000 });
  });
  afterEach(async () => {
    await pool.end();
  });

  /** Asks for a connection, records when it got it, runs one query and gives it back. */
  function use(order: string[], name: string, background: boolean): Promise<void> {
    const work = async () => {
      const client = await pool.connect();
      order.push(name);
      try {
        await client.query('SELECT 1');
      } finally {
        client.release();
      }
    };
    return background ? runInBackground(work) : work();
  }

  it('hands a freed connection to a waiting API request before the background ones queued earlier', async () => {
    const holder = await pool.connect();
    const order: string[] = [];
    const all = [
      use(order, 'bg1', true),
      use(order, 'bg2', true),
      use(order, 'api1', false),
      use(order, 'api2', false),
    ];
    expect(pool.queued).toEqual({ api: 2, background: 2 });
    holder.release();
    await Promise.all(all);
    expect(order).toEqual(['api1', 'api2', 'bg1', 'bg2']);
  });

  it('serves a background request first once it waited BACKGROUND_MAX_WAIT_MS', async () => {
    const holder = await pool.connect();
    const order: string[] = [];
    const bg = use(order, 'bg', true);
    await new Promise((r) => setTimeout(r, BACKGROUND_MAX_WAIT_MS + 50));
    const api = use(order, 'api', false);
    holder.release();
    await Promise.all([bg, api]);
    expect(order).toEqual(['bg', 'api']);
  });

  it('times a waiter out as pg does, and keeps its count of connections right after errors', async () => {
    const short = new PriorityPool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 200 });
    try {
      const holder = await short.connect();
      await expect(short.connect()).rejects.toThrow('timeout exceeded when trying to connect');
      // A connection given back with an error is closed; the next request gets a new one.
      holder.release(new Error('broken'));
      const again = await short.connect();
      expect((await again.query('SELECT 2 AS n')).rows[0].n).toBe(2);
      again.release();
      expect(short.queued).toEqual({ api: 0, background: 0 });
    } finally {
      await short.end();
    }
  });

  it('serves pool.query() and is what pg gives TypeORM', async () => {
    expect((await pool.query('SELECT 3 AS n')).rows[0].n).toBe(3);
    expect(db.dataSource.driver).toBeDefined();
    const master = (db.dataSource.driver as unknown as { master: pg.Pool }).master;
    expect(master).toBeInstanceOf(PriorityPool);
  });
});
