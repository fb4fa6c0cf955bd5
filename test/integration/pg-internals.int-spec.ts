import { ValidationPipe } from '@nestjs/common';
import type { EventEmitter } from 'node:events';
import { PinoLogger } from 'nestjs-pino';
import { Client, Pool, type PoolClient } from 'pg';
import { POOL_WAIT_EVENT, PriorityPool } from '../../src/database/priority-pool';
import { createTestDatabase, TestDatabase } from '../setup/database';

/**
 * The library internals MailDesk's speed tricks read (docs/performance.md lists each trick): a
 * dependency upgrade that moves one of them fails here, by name, instead of leaving a trick that
 * silently stops working or a statement that fails in production.
 */

/** pg's per-connection record of the named statements it has parsed (read by src/database/prepared.ts). */
function parsedStatements(client: Client | PoolClient): Record<string, unknown> {
  return (client as unknown as { connection: { parsedStatements: Record<string, unknown> } }).connection
    .parsedStatements;
}

const PREPARED = `SELECT name FROM pg_prepared_statements WHERE name = $1`;

describe('pg internals', () => {
  let db: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  describe('Client#connection.parsedStatements (prepared.ts: a deallocated statement is forgotten there)', () => {
    it('is an object on a connected client, and names each named statement pg parsed', async () => {
      expect(parsedStatements(client)).toEqual(expect.any(Object));
      await client.query({ name: 'md_internals_1', text: 'SELECT $1::int AS n', values: [1] });
      expect(parsedStatements(client)).toHaveProperty('md_internals_1');
    });

    it('is what pg consults: a name still in it is not parsed again, so a statement deallocated behind its back fails', async () => {
      await client.query({ name: 'md_internals_2', text: 'SELECT $1::int AS n', values: [1] });
      await client.query('DEALLOCATE md_internals_2');
      await expect(
        client.query({ name: 'md_internals_2', text: 'SELECT $1::int AS n', values: [2] }),
      ).rejects.toMatchObject({ code: '26000' });
    });

    it('makes pg parse the statement again once its name is deleted from it (what admit() does after DEALLOCATE)', async () => {
      await client.query({ name: 'md_internals_3', text: 'SELECT $1::int AS n', values: [1] });
      await client.query('DEALLOCATE md_internals_3');
      delete parsedStatements(client).md_internals_3;
      await expect(
        client.query({ name: 'md_internals_3', text: 'SELECT $1::int AS n', values: [3] }),
      ).resolves.toMatchObject({ rows: [{ n: 3 }] });
      expect((await client.query(PREPARED, ['md_internals_3'])).rows).toEqual([{ name: 'md_internals_3' }]);
      expect(parsedStatements(client)).toHaveProperty('md_internals_3');
    });
  });

  describe("Pool#options (priority-pool.ts reads the pool's size and connection timeout)", () => {
    it('holds the options the pool was made with, max and connectionTimeoutMillis among them', async () => {
      const pool = new Pool({ connectionString: db.url, max: 3, connectionTimeoutMillis: 1234 });
      try {
        expect(pool.options).toMatchObject({ max: 3, connectionTimeoutMillis: 1234 });
      } finally {
        await pool.end();
      }
    });
  });

  describe("TypeORM's driver.master (prepared.ts and metrics/pool-wait-metrics.ts take the pool from it)", () => {
    it("is the app's PriorityPool, a pg Pool of the configured size, whose clients carry parsedStatements", async () => {
      const master = (db.dataSource.driver as unknown as { master?: unknown }).master;
      expect(master).toBeInstanceOf(PriorityPool);
      expect(master).toBeInstanceOf(Pool);
      const pool = master as PriorityPool;
      expect(pool.options.max).toBe(4);
      // As metrics/pool-wait-metrics.ts listens (pg's typings know only pg's own events).
      const events = pool as unknown as EventEmitter;
      const waits: string[] = [];
      const onWait = (lane: string) => waits.push(lane);
      events.on(POOL_WAIT_EVENT, onWait);
      const pooled = await pool.connect();
      try {
        expect(parsedStatements(pooled)).toEqual(expect.any(Object));
        expect(waits).toEqual(['api']);
      } finally {
        pooled.release();
        events.off(POOL_WAIT_EVENT, onWait);
      }
    });
  });
});

describe('other library internals the speed tricks use', () => {
  it("nestjs-pino: PinoLogger.root and runInContext (request-log.ts logs on Fastify's hooks with them)", () => {
    expect(typeof (PinoLogger.prototype as unknown as { runInContext?: unknown }).runInContext).toBe('function');
    expect(Object.getOwnPropertyNames(PinoLogger)).toContain('root');
  });

  it("@nestjs/common: ValidationPipe's protected toValidate (validation.pipe.ts skips it for known queries)", () => {
    expect(typeof (ValidationPipe.prototype as unknown as { toValidate?: unknown }).toValidate).toBe('function');
  });
});
