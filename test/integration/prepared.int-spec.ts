import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { runMigrations } from '../../src/database/database';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import {
  nameTransactionStatements,
  preparedQuery,
  STATEMENT_NAMES_CACHED,
  STATEMENTS_PER_CONNECTION,
  statementName,
  statementNamesCached,
} from '../../src/database/prepared';
import { ISO_TIMESTAMPS } from '../../src/database/timestamps';
import { createTestDatabase } from '../setup/database';

const LOOKUP = `SELECT id, email FROM operators WHERE id = $1`;
const PREPARED = `SELECT name, statement FROM pg_prepared_statements ORDER BY name`;

/**
 * The prepared-statement path on one connection (the app's DataSource options, pool of 1), so that
 * the session's statements can be seen; `open` gives a migrated database.
 */
function describePrepared(where: string, open: () => Promise<{ url: string; close: () => Promise<void> }>) {
  describe(`preparedQuery on ${where}`, () => {
    let ds: DataSource;
    let close: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      const db = await open();
      close = db.close;
      ds = await new DataSource(dataSourceOptions(db.url, 1)).initialize();
      await ds.query(
        `INSERT INTO operators (name, email, password_hash, role) VALUES ('Ann', 'ann@desk.test', 'x', 'operator')`,
      );
    });

    afterAll(async () => {
      await ds?.destroy();
      await close?.();
    });

    it('answers rows, and prepares each text once per connection under its hash name', async () => {
      const [{ id }] = await ds.query(`SELECT id FROM operators WHERE email = 'ann@desk.test'`);
      for (let i = 0; i < 3; i++) {
        await expect(preparedQuery(ds, LOOKUP, [id])).resolves.toEqual([{ id, email: 'ann@desk.test' }]);
      }
      await expect(preparedQuery(ds, LOOKUP, [-1])).resolves.toEqual([]);
      const statements = await preparedQuery<{ name: string; statement: string }>(ds, PREPARED, []);
      expect(statements).toEqual(
        expect.arrayContaining([
          { name: statementName(LOOKUP), statement: LOOKUP },
          { name: statementName(PREPARED), statement: PREPARED },
        ]),
      );
      expect(statements.filter((s) => s.statement === LOOKUP)).toHaveLength(1);
    });

    it('lets PostgreSQL choose the plan (auto), so a statement run often gets one plan for all values', async () => {
      await expect(preparedQuery(ds, `SELECT current_setting('plan_cache_mode') AS mode`, [])).resolves.toEqual([
        { mode: 'auto' },
      ]);
      for (let i = 0; i < 8; i++) await preparedQuery(ds, LOOKUP, [i + 1]);
      const [plans] = await preparedQuery<{ generic: number; custom: number }>(
        ds,
        `SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE name = $1`,
        [statementName(LOOKUP)],
      );
      expect(plans.custom).toBe(5);
      expect(plans.generic).toBeGreaterThan(0);
    });

    it('reads timestamptz as the ISO strings Date#toISOString() gives, with ISO_TIMESTAMPS', async () => {
      // Fractions of every length, a whole second, a leap day, the epoch, a year past 9999, and a
      // session in another time zone (an offset in the text: pg's own parser).
      const values = `SELECT v FROM unnest($1::timestamptz[]) WITH ORDINALITY AS t(v, i) ORDER BY i`;
      const stamps = [
        '2025-10-31T12:34:56.789012Z',
        '2025-10-31T12:34:56.7Z',
        '2025-10-31T12:34:56.78Z',
        '2025-10-31T12:34:56Z',
        '2024-02-29T23:59:59.999999Z',
        '1970-01-01T00:00:00Z',
        '12025-01-01T00:00:00.5Z',
      ];
      const asDates = await preparedQuery<{ v: Date }>(ds, values, [stamps]);
      const asIso = await preparedQuery<{ v: string }>(ds, values, [stamps], { types: ISO_TIMESTAMPS });
      expect(asIso.map((r) => r.v)).toEqual(asDates.map((r) => r.v.toISOString()));
      expect(asIso[0].v).toBe('2025-10-31T12:34:56.789Z');
      expect(asIso[3].v).toBe('2025-10-31T12:34:56.000Z');
      // Other columns keep pg's parsers.
      await expect(
        preparedQuery(ds, `SELECT 1::int AS n, true AS b, NULL::timestamptz AS t`, [], { types: ISO_TIMESTAMPS }),
      ).resolves.toEqual([{ n: 1, b: true, t: null }]);
      const client = await (ds.driver as unknown as { master: import('pg').Pool }).master.connect();
      try {
        await client.query(`SET TimeZone = 'Asia/Kolkata'`);
        const { rows } = await client.query({ text: values, values: [stamps.slice(0, 1)], types: ISO_TIMESTAMPS });
        expect(rows).toEqual([{ v: '2025-10-31T12:34:56.789Z' }]);
      } finally {
        await client.query(`RESET TimeZone`);
        client.release();
      }
    });

    it('sends an unnamed statement on request (planned for its values), leaving nothing prepared', async () => {
      const once = `SELECT $1::int + 1 AS n`;
      await expect(preparedQuery(ds, once, [41], { named: false })).resolves.toEqual([{ n: 42 }]);
      await expect(
        preparedQuery(ds, `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1`, [once]),
      ).resolves.toEqual([{ n: 0 }]);
    });

    it(`keeps at most ${STATEMENTS_PER_CONNECTION} statements per connection, dropping the least recently used`, async () => {
      const text = (i: number) => `SELECT ${i} AS n, $1::int AS m`;
      const count = `SELECT count(*)::int AS n, count(*) FILTER (WHERE statement = $1)::int AS first FROM pg_prepared_statements`;
      for (let i = 0; i <= STATEMENTS_PER_CONNECTION; i++) await preparedQuery(ds, text(i), [i]);
      const [after] = await preparedQuery<{ n: number; first: number }>(ds, count, [text(0)]);
      expect(after.n).toBe(STATEMENTS_PER_CONNECTION);
      expect(after.first).toBe(0);
      // The dropped text is parsed again when it comes back, and the connection goes on.
      await expect(preparedQuery(ds, text(0), [7])).resolves.toEqual([{ n: 0, m: 7 }]);
      await expect(preparedQuery(ds, count, [text(0)])).resolves.toEqual([{ n: STATEMENTS_PER_CONNECTION, first: 1 }]);
    });

    it(`remembers at most ${STATEMENT_NAMES_CACHED} texts' names while paging through many offsets`, async () => {
      // GET /requests writes LIMIT and OFFSET into the text: each page of a long queue is a new text.
      const page = (offset: number) => `SELECT id FROM operators ORDER BY id LIMIT 50 OFFSET ${offset}`;
      for (let i = 0; i < STATEMENT_NAMES_CACHED + 300; i++) {
        await preparedQuery(ds, page(i * 50), []);
        expect(statementNamesCached()).toBeLessThanOrEqual(STATEMENT_NAMES_CACHED);
      }
      // A text whose name was forgotten gets the same name again, and still runs.
      expect(statementName(page(0))).toMatch(/^md_[0-9a-f]{24}$/);
      await expect(preparedQuery(ds, page(0), [])).resolves.toHaveLength(1);
      await expect(preparedQuery(ds, LOOKUP, [-1])).resolves.toEqual([]);
    });

    it('names are stable per text, distinct across texts and within PostgreSQL limits', () => {
      expect(statementName(LOOKUP)).toBe(statementName(`${LOOKUP}`));
      expect(statementName(LOOKUP)).not.toBe(statementName(`${LOOKUP} `));
      expect(statementName(LOOKUP)).toMatch(/^md_[0-9a-f]{24}$/);
    });

    it("fails as DataSource.query does: a QueryFailedError carrying PostgreSQL's code, and the connection goes on", async () => {
      const failed = preparedQuery(ds, `SELECT $1::int AS n`, ['not a number']);
      await expect(failed).rejects.toBeInstanceOf(QueryFailedError);
      await expect(failed).rejects.toMatchObject({ driverError: { code: '22P02' } });
      await expect(preparedQuery(ds, `SELECT $1::int AS n`, ['7'])).resolves.toEqual([{ n: 7 }]);
    });
  });
}

describePrepared('PostgreSQL', async () => {
  const db = await createTestDatabase();
  return { url: db.url, close: () => db.drop() };
});

describePrepared('the embedded database (pglite-socket)', async () => {
  const embedded = await startEmbeddedPostgres('memory://', 40);
  await runMigrations(embedded.url);
  return { url: embedded.url, close: () => embedded.close() };
});

describe('nameTransactionStatements on PostgreSQL (the ingest transaction)', () => {
  let ds: DataSource;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = () => db.drop();
    // Two connections: isEmbeddedDatabase asks on one while the transaction holds the other.
    ds = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
    await drop?.();
  });

  /** What each statement answers, through `manager.query` and the query runner's structured result. */
  async function answers(manager: EntityManager): Promise<unknown[]> {
    const email = `${manager.queryRunner?.data?.tag as string}@desk.test`;
    const out: unknown[] = [];
    out.push(
      await manager.query(
        `INSERT INTO operators (name, email, password_hash, role) VALUES ($1, $2, 'x', 'operator') RETURNING name`,
        ['Bo', email],
      ),
    );
    out.push(await manager.query(`UPDATE operators SET name = $1 WHERE email = $2 RETURNING name`, ['Cy', email]));
    out.push(await manager.query(`UPDATE operators SET name = $1 WHERE email = $2`, ['Di', email]));
    out.push(await manager.query(`SELECT name FROM operators WHERE email = $1`, [email]));
    out.push(await manager.query(`SELECT 1 AS one`));
    const structured = await manager.queryRunner!.query(`SELECT name FROM operators WHERE email = $1`, [email], true);
    out.push({ ...structured });
    out.push(await manager.query(`DELETE FROM operators WHERE email = $1`, [email]));
    return out;
  }

  it("answers every statement as TypeORM's own query() does, each with parameters under its hash name", async () => {
    const plain = await ds.transaction(async (manager) => {
      manager.queryRunner!.data = { tag: 'plain' };
      return answers(manager);
    });
    const named = await ds.transaction(async (manager) => {
      await nameTransactionStatements(manager);
      // The lean query() of prepared.ts in place of TypeORM's (nothing here listens to statements).
      expect(Object.hasOwn(manager.queryRunner!, 'query')).toBe(true);
      manager.queryRunner!.data = { tag: 'plain' };
      const out = await answers(manager);
      const statements = await manager.query(`SELECT name FROM pg_prepared_statements`);
      return { out, statements: (statements as Array<{ name: string }>).map((s) => s.name) };
    });
    expect(named.out).toEqual(plain);
    expect(plain[2]).toEqual([[], 1]);
    expect(named.statements).toContain(statementName(`SELECT name FROM operators WHERE email = $1`));
  });

  it("fails as TypeORM's query() does: a QueryFailedError with PostgreSQL's code, and the transaction rolls back", async () => {
    const failed = ds.transaction(async (manager) => {
      await nameTransactionStatements(manager);
      await manager.query(
        `INSERT INTO operators (name, email, password_hash, role) VALUES ('Ed', 'ed@desk.test', 'x', 'operator')`,
      );
      return manager.query(`SELECT $1::int AS n`, ['not a number']);
    });
    await expect(failed).rejects.toBeInstanceOf(QueryFailedError);
    await expect(failed).rejects.toMatchObject({ driverError: { code: '22P02' } });
    await expect(ds.query(`SELECT count(*)::int AS n FROM operators WHERE email = 'ed@desk.test'`)).resolves.toEqual([
      { n: 0 },
    ]);
  });
});
