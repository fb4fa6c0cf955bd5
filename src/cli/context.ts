import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { AppConfig, ConfigError, loadConfig, readDotEnv } from '../config/config';
import { resolveSecrets } from '../config/secrets';
import { runMigrations } from '../database/database';
import type { DatabaseHandle } from '../database/embedded-postgres';
import { EMBEDDED_POOL_SIZE } from '../database/embedded-database';
import { openDatabase } from '../database/open-database';
import { CliError } from './args';

/** The application without HTTP and without background work, on the server's config and database. */
export interface CliContext {
  app: INestApplicationContext;
  config: AppConfig;
  close(): Promise<void>;
}

/**
 * Reads the same environment (and `.env`) as the server, opens its database (migrating it like a
 * start does) and boots the Nest application context with `workers: false`: no IMAP poller, no
 * outbox dispatcher, no first-admin seeding. Mail the commands queue is sent by the server.
 */
export async function openCliContext(): Promise<CliContext> {
  readDotEnv();
  let config: AppConfig;
  try {
    config = { ...loadConfig(), workers: false };
    // The JWT secret and inbound token the server keeps in DATA_DIR/secrets.json (or the environment's).
    resolveSecrets(config);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`invalid configuration: ${e.message}`);
    throw e;
  }
  let db: DatabaseHandle;
  try {
    db = await openDatabase(config);
  } catch (e) {
    const message = (e as Error).message;
    if (/in use by process/.test(message)) {
      throw new CliError(
        `${message}. The embedded database can be opened by one process at a time: stop the server ` +
          'first, or run the server and the CLI on one PostgreSQL server (DATABASE_URL).',
      );
    }
    throw new CliError(`cannot open the database: ${message}`);
  }
  // One connection on the embedded database, as the server does (EMBEDDED_POOL_SIZE says why).
  if (db.embedded) config.database.poolSize = EMBEDDED_POOL_SIZE;
  try {
    await runMigrations(db.url, config.database);
    const app = await NestFactory.createApplicationContext(AppModule.register(config, db.url), {
      logger: config.logLevel === 'error' ? ['error'] : ['error', 'warn'],
      abortOnError: false,
    });
    return {
      app,
      config,
      async close() {
        await app.close();
        await db.close();
      },
    };
  } catch (e) {
    await db.close().catch(() => undefined);
    throw new CliError(`cannot start: ${(e as Error).message}`);
  }
}
