import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { preparedQuery } from '../../src/database/prepared';
import { redactQueryError } from '../../src/database/query-logger';
import { createTestDatabase, TestDatabase } from '../setup/database';

const SECRET = 'querysecret-whsec-0123456789';

/** Everything written to stdout and stderr while `fn` runs (console, Nest's logger, TypeORM's). */
async function captured(fn: () => Promise<unknown>): Promise<string> {
  const out: string[] = [];
  const writes = [process.stdout.write, process.stderr.write];
  const grab = (chunk: unknown) => {
    out.push(String(chunk));
    return true;
  };
  process.stdout.write = grab;
  process.stderr.write = grab;
  try {
    await fn().catch(() => undefined);
  } finally {
    [process.stdout.write, process.stderr.write] = writes;
  }
  return out.join('');
}

describe('failed SQL statements are logged without their parameters', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    Logger.overrideLogger(['error', 'warn', 'log']);
    db = await createTestDatabase();
    ds = await new DataSource(dataSourceOptions(db.url, 1)).initialize();
    await ds.query(`INSERT INTO operators (name, email, password_hash, role) VALUES ('Ann', $1, 'x', 'operator')`, [
      `ann-${SECRET}@desk.test`,
    ]);
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('a unique violation: the statement and the error, not the values nor the key in the detail', async () => {
    const log = await captured(() =>
      ds.query(`INSERT INTO operators (name, email, password_hash, role) VALUES ('Ann', $1, $2, 'operator')`, [
        `ann-${SECRET}@desk.test`,
        `$argon2id$${SECRET}`,
      ]),
    );
    expect(log).toMatch(/INSERT INTO operators/);
    expect(log).toMatch(/duplicate key value violates unique constraint/);
    expect(log).toMatch(/23505/);
    expect(log).not.toContain(SECRET);
  });

  it('a value PostgreSQL quotes in its message (bad integer), by DataSource.query and preparedQuery', async () => {
    for (const run of [
      () => ds.query(`SELECT $1::int AS n`, [SECRET]),
      () => preparedQuery(ds, `SELECT $1::int AS n`, [SECRET]),
      () => ds.query(`SELECT $1::jsonb AS j`, [`{"secret": ${SECRET}`]),
    ]) {
      const log = await captured(run);
      expect(log).toMatch(/SELECT \$1::(int|jsonb)/);
      expect(log).toMatch(/22P02/);
      expect(log).not.toContain(SECRET);
    }
  });

  it('a not-null violation (whose detail holds the whole row)', async () => {
    const log = await captured(() =>
      ds.query(`INSERT INTO operators (name, email, password_hash, role) VALUES (NULL, $1, $2, 'operator')`, [
        `bob-${SECRET}@desk.test`,
        SECRET,
      ]),
    );
    expect(log).toMatch(/23502/);
    expect(log).not.toContain(SECRET);
  });
});

describe('redactQueryError', () => {
  it('removes parameter values and quoted values, keeps names and the rest', () => {
    expect(redactQueryError('invalid input syntax for type integer: "hunter22"', ['hunter22'])).toBe(
      'invalid input syntax for type integer: "[redacted]"',
    );
    expect(redactQueryError('invalid input syntax for type json: "x"')).toBe(
      'invalid input syntax for type json: "[redacted]"',
    );
    expect(redactQueryError('duplicate key value violates unique constraint "operators_email_key"', ['a@b.c'])).toBe(
      'duplicate key value violates unique constraint "operators_email_key"',
    );
    expect(redactQueryError('value secret-token-1 too long', [['secret-token-1'], { k: 1 }])).toBe(
      'value [redacted] too long',
    );
  });
});
