import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { runMigrations } from '../../src/database/database';
import { DatabaseConnection } from '../../src/database/pooler';
import { preparedQuery } from '../../src/database/prepared';
import { createTestDatabase, TestDatabase } from '../setup/database';
import { pgbouncerAvailable, startPgBouncer, TestPgBouncer } from '../setup/pgbouncer';

/**
 * The database layer through a real PgBouncer 1.18 in transaction mode (Debian's; docs/pgbouncer.md),
 * two server connections shared by every client: what a stock PgBouncer refuses (the startup
 * `options`), what breaks (named prepared statements: prepared on one server session, run or
 * prepared again on another) and that DATABASE_POOLER=pgbouncer avoids both.
 */

const LOOKUP = `SELECT id, email FROM operators WHERE id = $1`;

(pgbouncerAvailable() ? describe : describe.skip)('the database layer through PgBouncer (transaction mode)', () => {
  let db: TestDatabase;
  let bouncer: TestPgBouncer;
  const sources: DataSource[] = [];
  let operatorId: number;

  const open = async (connection?: DatabaseConnection, poolSize = 8) => {
    // No error log: the failures below are expected.
    const options = { ...dataSourceOptions(bouncer.urlFor(db.url), poolSize, connection), logging: false as const };
    const ds = await new DataSource(options).initialize();
    sources.push(ds);
    return ds;
  };
  const pooled = (o: Partial<DatabaseConnection> = {}): DatabaseConnection => ({
    pooler: 'pgbouncer',
    directUrl: db.url,
    preparedStatements: 'auto',
    ...o,
  });
  /** Many concurrent hot reads over `ds`'s pool, as GET /requests and the operator lookup do. */
  const burst = (ds: DataSource) =>
    Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        preparedQuery<{ id: number }>(ds, i % 2 ? LOOKUP : `${LOOKUP} AND email <> ''`, [operatorId]),
      ),
    );

  beforeAll(async () => {
    [db, bouncer] = await Promise.all([createTestDatabase('postgres'), startPgBouncer({ poolSize: 2 })]);
    const [row] = await db.dataSource.query(
      `INSERT INTO operators (name, email, password_hash, role) VALUES ('Ann', 'ann@desk.test', 'x', 'operator') RETURNING id`,
    );
    operatorId = row.id;
  });

  afterAll(async () => {
    for (const ds of sources) await ds.destroy().catch(() => undefined);
    await db?.drop();
    await bouncer?.stop();
  });

  it('refuses the startup options of a direct connection (stock PgBouncer), and takes the pooled connection', async () => {
    await expect(open()).rejects.toThrow(/unsupported startup parameter: options/);
    const ds = await open(pooled());
    expect(await ds.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('fails with named prepared statements on (DATABASE_PREPARED_STATEMENTS=on against 1.18)', async () => {
    const ds = await open(pooled({ preparedStatements: 'on' }));
    const results = await burst(ds);
    const errors = results
      .filter((r) => r.status === 'rejected')
      .map((r) => String(r.reason));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(/prepared statement "md_[0-9a-f]+" (does not exist|already exists)/);
  });

  it('runs every hot read with DATABASE_POOLER=pgbouncer (named statements off)', async () => {
    const ds = await open(pooled());
    const results = await burst(ds);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(results.every((r) => r.status === 'fulfilled' && r.value[0]?.id === operatorId)).toBe(true);
  });

  it('migrates on the direct URL: the session lock is released, a second start does not wait', async () => {
    const connection = pooled();
    await expect(runMigrations(bouncer.urlFor(db.url), connection)).resolves.toEqual([]);
    const started = Date.now();
    await expect(runMigrations(bouncer.urlFor(db.url), connection)).resolves.toEqual([]);
    expect(Date.now() - started).toBeLessThan(5000);
    const [{ n }] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 7318201`,
    );
    expect(n).toBe(0);
  });
});
