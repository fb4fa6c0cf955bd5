import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app';
import { ConfigError, loadConfig, readDotEnv } from './config/config';
import { resolveSecrets } from './config/secrets';
import { openDatabase, runMigrations } from './database/database';

async function main(): Promise<void> {
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
  const logger = new Logger('MailDesk');
  const started = Date.now();
  const db = await openDatabase(config);
  const applied = await runMigrations(db.url);
  if (applied.length) logger.log(`migrations applied: ${applied.join(', ')}`);
  const app = await createApp(config, db.url);
  await app.listen(config.http.port, config.http.host);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: finishing in-flight work, then stopping`);
    // Nest closes the HTTP server (in-flight requests finish), then the modules' shutdown hooks run.
    app
      .close()
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
    `ready in ${Date.now() - started} ms on ${base} (database: ${db.embedded ? `embedded in ${config.dataDir}/pgdata` : 'PostgreSQL from DATABASE_URL'})`,
  );
  logger.log(`Swagger UI: ${base}/docs   OpenAPI: ${base}/docs-json`);
  logger.log(`outbound mail: ${config.smtp.url ? 'SMTP' : `files in ${config.dataDir}/outbox`}; IMAP polling: ${config.imap.url ? 'on' : 'off'}`);
  if (secrets.inboundTokenGenerated) {
    logger.log(`inbound webhook token (INBOUND_TOKEN, kept in ${config.dataDir}/secrets.json): ${config.inbound.token}`);
  }
}

main().catch((e: Error) => {
  console.error(`maildesk: failed to start: ${e.message}`);
  process.exit(1);
});
