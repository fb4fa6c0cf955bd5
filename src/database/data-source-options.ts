import { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { ENTITIES } from './entities';
import { CONNECTION_OPTION, DatabaseConnection, DIRECT_CONNECTION, poolHoldsSessions } from './pooler';
import { prioritizedPg } from './priority-pool';
import { QueryErrorLogger } from './query-logger';
import { SESSION_OPTIONS } from './session-settings';

/**
 * The one DataSource definition, shared by the app, the typeorm CLI and the tests. `connection`
 * says whether `url` is a transaction-mode pooler (pooler.ts): its connections then send no
 * startup `options`, which PgBouncer refuses.
 */
export function dataSourceOptions(
  url: string,
  poolSize = 10,
  connection: DatabaseConnection = DIRECT_CONNECTION,
): DataSourceOptions {
  const options = poolHoldsSessions(connection) ? { options: SESSION_OPTIONS } : {};
  return {
    [CONNECTION_OPTION]: connection,
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    // Failed statements only, without their parameters or the driver's detail (query-logger.ts).
    logging: ['error'],
    logger: new QueryErrorLogger(),
    // pg with PriorityPool: the API's requests for a connection go before the background jobs'.
    driver: prioritizedPg,
    extra: { max: poolSize, connectionTimeoutMillis: 15000, ...options },
  } as DataSourceOptions;
}
