// Only light modules here: the embedded database starts on its own thread before the app's
// modules load (half a second of the start), so that both go on at once.
import 'reflect-metadata';
import { tuneHeap } from './runtime/heap';
import type { Server } from 'node:http';
import { ConfigError, loadConfig, readDotEnv } from './config/config';
import { resolveSecrets } from './config/secrets';
import { EMBEDDED_POOL_SIZE } from './database/embedded-database';
import { openDatabase } from './database/open-database';

/** How long in-flight requests may take to finish after SIGTERM (Docker waits stop_grace_period, 30 s in compose). */
const SHUTDOWN_GRACE_MS = 25_000;

async function main(): Promise<void> {
  tuneHeap();
  readDotEnv();
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`maildesk: invalid configuration: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
  const secrets = resolveSecrets(config);
  const opening = openDatabase(config);
  // Its failure is reported below, once the modules are loaded.
  opening.catch(() => {});
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded now, not before the database's thread starts */
  const { Logger } = require('@nestjs/common') as typeof import('@nestjs/common');
  const { createApp } = require('./app') as typeof import('./app');
  const { runMigrations } = require('./database/database') as typeof import('./database/database');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const logger = new Logger('MailDesk');
  for (const warning of secrets.warnings) logger.warn(warning);
  const db = await opening;
  const applied = await runMigrations(db.url, config.database);
  // One connection on the embedded database (EMBEDDED_POOL_SIZE says why).
  if (db.embedded) config.database.poolSize = EMBEDDED_POOL_SIZE;
  const app = await createApp(config, db.url);
  // Logged once the structured logger is in place.
  if (applied.length) logger.log(`migrations applied: ${applied.join(', ')}`);
  await app.listen(config.http.port, config.http.host);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: finishing in-flight work, then stopping`);
    // 1. Stop accepting connections (a proxy moves on to the other instances at once) and let the
    //    requests in flight finish; idle keep-alive connections are closed by Node.
    // 2. Nest's shutdown hooks: the outbox dispatcher finishes its current dispatch, the IMAP poller
    //    finishes its message, releases the leader lock and logs out; then the pool closes.
    const server = app.getHttpServer() as Server;
    const force = setTimeout(() => {
      logger.warn(`requests still running after ${SHUTDOWN_GRACE_MS} ms: closing their connections`);
      server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    new Promise<void>((resolve) => server.close(() => resolve()))
      .then(() => clearTimeout(force))
      .then(() => app.close())
      .then(() => db.close())
      .then(
        () => process.exit(0),
        (e: Error) => {
          console.error(`maildesk: unclean shutdown: ${e.message}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const base = `http://${config.http.host}:${config.http.port}`;
  logger.log(
    `ready in ${Math.round(performance.now())} ms on ${base} (database: ${db.embedded ? `embedded in ${config.dataDir}/pgdata` : config.database.pooler === 'pgbouncer' ? 'PostgreSQL through PgBouncer (DATABASE_URL), sessions on DATABASE_DIRECT_URL' : 'PostgreSQL from DATABASE_URL'})`,
  );
  logger.log(`Swagger UI: ${base}/docs   OpenAPI: ${base}/docs-json`);
  logger.log(
    `outbound mail: ${config.smtp.url ? 'SMTP' : `files in ${config.dataDir}/outbox`}; IMAP polling: ${config.imap.url ? 'on' : 'off'}`,
  );
  if (secrets.inboundTokenGenerated) {
    // Only at the start that generated it (like the admin password): later starts read it from the file.
    // Text after the token keeps it a whole word in JSON logs too ("...: TOKEN (send it as ...)").
    logger.log(
      `inbound webhook token (INBOUND_TOKEN, kept in ${config.dataDir}/secrets.json, shown once): ${config.inbound.token} (send it as Authorization: Bearer)`,
    );
  }
}

main().catch((e: Error) => {
  console.error(`maildesk: failed to start: ${e.message}`);
  process.exit(1);
});
