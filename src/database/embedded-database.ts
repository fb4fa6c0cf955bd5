import { Client } from 'pg';
import { DataSource } from 'typeorm';

/**
 * The app's pool on the embedded database (AppModule, whenever servesPGlite): ONE connection, whatever
 * DATABASE_POOL_SIZE says. PGlite is one backend session that runs one transaction at a time
 * whatever the number of connections, and pglite-socket queues each protocol message on its own,
 * so the extended-protocol messages (Parse/Bind/Execute/Sync) of two connections interleave
 * ("unnamed prepared statement does not exist"); one connection serialises them cleanly. The
 * background jobs share it with the API: PriorityPool serves the API first, and nothing holds it
 * while it waits for the network (the IMAP leader lock is in-process there: createLeaderLock).
 */
export const EMBEDDED_POOL_SIZE = 1;

const known = new WeakMap<DataSource, Promise<boolean>>();

/**
 * Whether the DataSource is on the embedded database (PGlite served by pglite-socket, see
 * embedded-postgres.ts), asked of the server itself (`version()` names PGlite): right whoever
 * created the app (src/main.ts, the CLI, the tests), and wherever DATABASE_URL points. Asked
 * once per DataSource; a failed question is asked again next time.
 */
export function isEmbeddedDatabase(dataSource: DataSource): Promise<boolean> {
  let answer = known.get(dataSource);
  if (!answer) {
    answer = dataSource
      .query('SELECT version() AS version')
      .then((rows: Array<{ version: string }>) => /\bPGlite\b/.test(rows[0]?.version ?? ''));
    known.set(dataSource, answer);
    answer.catch(() => known.delete(dataSource));
  }
  return answer;
}

/**
 * Whether the server at `url` is PGlite (the embedded database, or any pglite-socket server a
 * DATABASE_URL may point at): AppModule then gives the app EMBEDDED_POOL_SIZE connections, whoever
 * started it (src/main.ts, the CLI, the tests, a built app on a test's PGlite). False when the
 * server cannot be asked: the DataSource then reports (and retries) the connection failure itself.
 */
export async function servesPGlite(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 15_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>('SELECT version() AS version');
    return /\bPGlite\b/.test(rows[0]?.version ?? '');
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
