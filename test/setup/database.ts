import * as crypto from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { runMigrations } from '../../src/database/database';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

/** Where test databases are created: TEST_DATABASE_URL, else the local server of RECIPES.md. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  embedded: boolean;
  /** A DataSource on the test database, for assertions and fixtures. */
  dataSource: DataSource;
  drop(): Promise<void>;
}

let serverReachable: Promise<boolean> | undefined;

async function reachable(): Promise<boolean> {
  const c = new Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** The two databases MailDesk runs on: PostgreSQL (DATABASE_URL) and the embedded default (PGlite). */
export type DatabaseKind = 'postgres' | 'embedded';

/**
 * Runs the suite `fn` once per database (describe.each: PostgreSQL, then the embedded database),
 * each run named after its database and handed its kind for createTestDatabase (a built app on
 * the embedded database is started without DATABASE_URL). The background jobs (IMAP, outbox,
 * webhooks, SLA) share the embedded database's one session and one pooled connection with the API
 * (issue 16), so their suites run on both. MAILDESK_TEST_DATABASES=postgres (or embedded) narrows
 * a local run to one. Without a PostgreSQL server (outside CI) the 'postgres' run falls back to
 * the embedded database, as createTestDatabase always did.
 */
export function forEachDatabase(
  name: string,
  fn: (kind: DatabaseKind) => void,
  suite: typeof describe = describe,
): void {
  const only = process.env.MAILDESK_TEST_DATABASES?.split(',').map((k) => k.trim());
  const kinds = (['postgres', 'embedded'] as const).filter((k) => !only || only.includes(k));
  suite.each(kinds)(`${name} (database: %s)`, (kind) => fn(kind));
}

/**
 * A fresh, migrated database for one test file: on the PostgreSQL server when it answers (a new
 * database per call, dropped afterwards); else, outside CI, on an in-memory embedded PostgreSQL.
 * Under CI=true a missing server fails the run. `kind` asks for one of the two (forEachDatabase).
 */
export async function createTestDatabase(kind?: DatabaseKind): Promise<TestDatabase> {
  serverReachable ??= reachable();
  if (kind === 'embedded' || !(await serverReachable)) {
    if (kind !== 'embedded') {
      if (process.env.CI === 'true') throw new Error(`CI=true and PostgreSQL is not reachable at ${ADMIN_URL}`);
      console.warn(`PostgreSQL not reachable at ${ADMIN_URL}: running on the embedded database instead`);
    }
    const db = await startEmbeddedPostgres('memory://', 40);
    await runMigrations(db.url);
    const dataSource = await new DataSource(dataSourceOptions(db.url, 4)).initialize();
    return {
      url: db.url,
      embedded: true,
      dataSource,
      async drop() {
        await dataSource.destroy();
        await db.close();
      },
    };
  }
  const name = `maildesk_test_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  const dataSource = await new DataSource(dataSourceOptions(url.toString(), 4)).initialize();
  return {
    url: url.toString(),
    embedded: false,
    dataSource,
    async drop() {
      await dataSource.destroy();
      const c = new Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
