import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

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
