import * as path from 'node:path';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { dataSourceOptions } from './data-source-options';
import { DatabaseHandle, startEmbeddedPostgres } from './embedded-postgres';

/** DATABASE_URL when set; else the embedded PostgreSQL in DATA_DIR/pgdata. */
export async function openDatabase(config: AppConfig): Promise<DatabaseHandle> {
  if (config.database.url) return { url: config.database.url, embedded: false, close: async () => {} };
  return startEmbeddedPostgres(path.join(config.dataDir, 'pgdata'), config.database.poolSize + 10);
}

/** Applies pending migrations with a short-lived connection (also what the tests do). */
export async function runMigrations(url: string): Promise<string[]> {
  const ds = new DataSource({ ...dataSourceOptions(url, 1) });
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
