import { DataSource } from 'typeorm';

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
