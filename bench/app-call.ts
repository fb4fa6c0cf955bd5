import * as path from 'node:path';
import type { Pool } from 'pg';

/** A statement the app sends: named ones are prepared once per connection (src/database/prepared.ts). */
export interface Statement {
  sql: string;
  params: unknown[];
  named: boolean;
  /** Rows read with the app's ISO_TIMESTAMPS (the list), not pg's own parsers. */
  iso: boolean;
}

/**
 * What the app sends PostgreSQL for one API call, as its own connections send it (named or
 * unnamed, rows parsed with the same types): the auth guard's operator lookup, then `statements`;
 * resolves with the last statement's rows. `appDir` is the app snapshot whose dist/ gives the
 * statement names, the lookup and the type parsers. Shared by the SQL-alone ceiling and the HTTP
 * floor of the queue scenario.
 */
export function appCall(
  appDir: string,
): (pool: Pool, operatorId: number, statements: Statement[]) => Promise<Record<string, unknown>[]> {
  const dist = path.join(appDir, 'dist/src');
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { statementName } = require(path.join(dist, 'database/prepared.js'));
  const ACTIVE_IDENTITY_SQL: string = require(path.join(dist, 'operators/operators.repository.js')).SQL.activeIdentity;
  const { ISO_TIMESTAMPS } = require(path.join(dist, 'database/timestamps.js'));
  /* eslint-enable @typescript-eslint/no-require-imports */
  return async (pool, operatorId, statements) => {
    await pool.query({ name: statementName(ACTIVE_IDENTITY_SQL), text: ACTIVE_IDENTITY_SQL, values: [operatorId] });
    let rows: Record<string, unknown>[] = [];
    for (const s of statements) {
      const result = await pool.query({
        name: s.named ? statementName(s.sql) : undefined,
        text: s.sql,
        values: s.params,
        types: s.iso ? ISO_TIMESTAMPS : undefined,
      });
      rows = result.rows;
    }
    return rows;
  };
}
