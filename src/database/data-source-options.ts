import { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { ENTITIES } from './entities';

/**
 * Session settings of every connection: no parallel query. The app's statements are short and
 * many run at once; a parallel plan's worker start-up cost 30-50 ms on a 2-core server for a search
 * that needs 0.2 ms (BENCHMARKS.md), and the workers take the cores other requests need. READ
 * COMMITTED whatever the server's default, so transactions need no SET TRANSACTION round trip.
 */
export const SESSION_OPTIONS = '-c max_parallel_workers_per_gather=0 -c default_transaction_isolation=read\\ committed';

/** The one DataSource definition, shared by the app, the typeorm CLI and the tests. */
export function dataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: ['error'],
    extra: { max: poolSize, connectionTimeoutMillis: 15000, options: SESSION_OPTIONS },
  };
}
