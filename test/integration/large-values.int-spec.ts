import { randomBytes } from 'node:crypto';
import { queryWithLargeValues, STAGE_CHUNK_BYTES, STAGE_FROM_BYTES } from '../../src/database/large-values';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../setup/database';

/** Large parameters reach PostgreSQL by COPY, a chunk at a time (src/database/large-values.ts). */
forEachDatabase('queryWithLargeValues', (kind) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await db.dataSource.query(`CREATE TABLE blobs (id serial PRIMARY KEY, name text, a bytea, b bytea)`);
  });
  afterAll(() => db?.drop());

  const read = async (id: number) =>
    (
      await db.dataSource.query<Array<{ name: string; a: Buffer | null; b: Buffer | null }>>(
        `SELECT name, a, b FROM blobs WHERE id = $1`,
        [id],
      )
    )[0];

  it('stores large and small buffers byte for byte, in and out of a transaction', async () => {
    const big = randomBytes(3 * STAGE_CHUNK_BYTES + 17 + STAGE_FROM_BYTES);
    const other = randomBytes(STAGE_FROM_BYTES);
    const small = randomBytes(1000);
    // Outside a transaction: one is opened for the statement.
    const [row] = await queryWithLargeValues<Array<{ id: number }>>(
      db.dataSource.manager,
      `INSERT INTO blobs (name, a, b) VALUES ($1, $2, $3) RETURNING id`,
      ['two large', big, other],
    );
    const stored = await read(row.id);
    expect(stored.name).toBe('two large');
    expect(Buffer.compare(stored.a!, big)).toBe(0);
    expect(Buffer.compare(stored.b!, other)).toBe(0);
    // Inside one, twice (the slots of one transaction do not collide), with a small one between.
    const ids = await db.dataSource.transaction(async (m) => {
      const x = await queryWithLargeValues<Array<{ id: number }>>(
        m,
        `INSERT INTO blobs (name, a, b) VALUES ($1, $2, $3) RETURNING id`,
        ['first', other, small],
      );
      const y = await queryWithLargeValues<Array<{ id: number }>>(
        m,
        `INSERT INTO blobs (name, a) VALUES ($1, $2) RETURNING id`,
        ['second', big],
      );
      // On PostgreSQL both went through the transaction's staging table (PGlite binds them).
      const staged = await m.query<Array<{ staged: boolean }>>(
        `SELECT to_regclass('pg_temp.md_staged_bytes') IS NOT NULL AS staged`,
      );
      expect(staged[0].staged).toBe(kind === 'postgres');
      return [x[0].id, y[0].id];
    });
    const first = await read(ids[0]);
    expect([first.name, Buffer.compare(first.a!, other), Buffer.compare(first.b!, small)]).toEqual(['first', 0, 0]);
    const second = await read(ids[1]);
    expect([second.name, Buffer.compare(second.a!, big), second.b]).toEqual(['second', 0, null]);
  });

  it('rewrites only the parameter it stages ($1 is not $10)', async () => {
    const big = randomBytes(STAGE_FROM_BYTES + 1);
    const params: unknown[] = [big, ...Array.from({ length: 9 }, (_, i) => `v${i + 2}`)];
    const [row] = await queryWithLargeValues<Array<{ id: number }>>(
      db.dataSource.manager,
      `INSERT INTO blobs (a, name) VALUES ($1, concat($2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text)) RETURNING id`,
      params,
    );
    const stored = await read(row.id);
    expect(stored.name).toBe('v2v3v4v5v6v7v8v9v10');
    expect(Buffer.compare(stored.a!, big)).toBe(0);
  });

  it('leaves nothing behind when the transaction rolls back', async () => {
    const big = randomBytes(STAGE_FROM_BYTES * 2);
    const before = Number((await db.dataSource.query(`SELECT count(*) AS n FROM blobs`))[0].n);
    await expect(
      db.dataSource.transaction(async (m) => {
        await queryWithLargeValues(m, `INSERT INTO blobs (name, a) VALUES ($1, $2)`, ['rolled back', big]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await expect(db.dataSource.query(`SELECT count(*) AS n FROM blobs`)).resolves.toEqual([{ n: String(before) }]);
    // The staging table went with the transaction: a statement reading it outside one fails.
    if (kind === 'postgres')
      await expect(db.dataSource.query(`SELECT count(*) FROM pg_temp.md_staged_bytes`)).rejects.toThrow(
        /does not exist/,
      );
  });

  it('reports a failing statement as the ordinary path does, and the connection stays usable', async () => {
    const big = randomBytes(STAGE_FROM_BYTES);
    await expect(
      queryWithLargeValues(db.dataSource.manager, `INSERT INTO blobs (id, a) VALUES ($1, $2)`, [-1, big]).then(() =>
        queryWithLargeValues(db.dataSource.manager, `INSERT INTO blobs (id, a) VALUES ($1, $2)`, [-1, big]),
      ),
    ).rejects.toThrow(/duplicate key/);
    await expect(db.dataSource.query(`SELECT 1 AS one`)).resolves.toEqual([{ one: 1 }]);
  });
});
