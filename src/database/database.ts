import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';
import { DatabaseConnection, DIRECT_CONNECTION } from './pooler';

/**
 * Applies pending migrations with a short-lived connection (also what the tests do), to
 * `connection.directUrl` when set: the advisory lock below is held across transactions, which
 * needs a session (behind PgBouncer in transaction mode, the unlock would run on another server
 * session and the lock would stay taken on the first, for the next start to wait on forever).
 */
export async function runMigrations(
  url: string,
  connection: DatabaseConnection = DIRECT_CONNECTION,
): Promise<string[]> {
  const ds = new DataSource({ ...dataSourceOptions(connection.directUrl ?? url, 1, connection) });
  await ds.initialize();
  try {
    // Several instances starting at once: one migrates, the others wait on the advisory lock.
    await ds.query('SELECT pg_advisory_lock(7318201)');
    try {
      const done = await ds.runMigrations({ transaction: 'each' });
      return done.map((m) => m.name);
    } finally {
      await ds.query('SELECT pg_advisory_unlock(7318201)');
    }
  } finally {
    await ds.destroy();
  }
}
