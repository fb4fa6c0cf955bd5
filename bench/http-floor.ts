/**
 * The queue scenario's HTTP floor (run as a child process by queue-at-scale.ts): what any Node HTTP
 * server pays to answer `GET /requests` with the same SQL. A bare Fastify route that runs the app's
 * statements for one call (the auth guard's operator lookup, then the list statement) on a `pg` pool
 * of the app's size, maps the rows with the app's own functions and answers JSON, without Nest,
 * authentication, validation, logging or metrics. The app's p99 over this one's is what MailDesk
 * itself adds; this one's over the SQL alone is the HTTP hop and Node's event loop on the same cores.
 *
 * Input (environment): FLOOR_URL (database), FLOOR_POOL, FLOOR_PORT, FLOOR_APP_DIR (the app snapshot
 * whose dist/ it loads), FLOOR_OPERATOR (the operator id to look up), FLOOR_STATEMENTS (a JSON file
 * of the statements: app-call.ts). Prints `listening` when ready.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Fastify from 'fastify';
import { Pool } from 'pg';
import { appCall, type Statement } from './app-call';

async function main(): Promise<void> {
  const appDir = process.env.FLOOR_APP_DIR!;
  const dist = path.join(appDir, 'dist/src');
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { SESSION_OPTIONS } = require(path.join(dist, 'database/session-settings.js'));
  const { requestFromRow } = require(path.join(dist, 'requests/requests.repository.js'));
  const { toRequestResponse } = require(path.join(dist, 'requests/dto/request.dto.js'));
  /* eslint-enable @typescript-eslint/no-require-imports */
  const call = appCall(appDir);
  const statements = JSON.parse(fs.readFileSync(process.env.FLOOR_STATEMENTS!, 'utf8')) as Statement[];
  const operator = Number(process.env.FLOOR_OPERATOR);
  const pool = new Pool({
    connectionString: process.env.FLOOR_URL,
    max: Number(process.env.FLOOR_POOL),
    options: SESSION_OPTIONS,
  });
  const app = Fastify();
  app.get('/requests', async () => {
    const rows = await call(pool, operator, statements);
    const items = rows.filter((r) => r.id !== null).map((r) => toRequestResponse(requestFromRow(r as never)));
    return { items, total: rows[0]?.total ?? 0 };
  });
  await app.listen({ port: Number(process.env.FLOOR_PORT), host: '127.0.0.1' });
  console.log('listening');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
