import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';

/** Statement names by SQL text: a name is a hash of the text, so one text always has one name. */
const names = new Map<string, string>();

/** The name of a statement: `md_` and 24 hex digits of its SHA-1 (PostgreSQL allows 63 bytes). */
export function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `md_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * Runs a read of a hot path (the operator lookup of every API call, `GET /requests`,
 * `GET /requests/:id`) as a named prepared statement, straight on the connection pool.
 *
 * PostgreSQL parses a named statement once per connection, not at every call; it still plans it
 * for its values every time (`plan_cache_mode=force_custom_plan` in SESSION_OPTIONS: a generic plan
 * of the list reads the whole table). TypeORM's `query()` only sends unnamed statements and takes
 * a query runner per call; on 1M requests, skipping both took a fifth of the CPU of a list call
 * (BENCHMARKS.md). The texts are the application's own, with every value bound, so the set of
 * names is small and fixed. Errors come back as TypeORM's `QueryFailedError`, logged by its
 * logger, exactly as from `DataSource.query()`.
 *
 * Behind PgBouncer in transaction mode, named statements need PgBouncer 1.21 or later with
 * `max_prepared_statements` set (README).
 */
export async function preparedQuery<T>(dataSource: DataSource, text: string, values: unknown[]): Promise<T[]> {
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const query = { name: statementName(text), text, values };
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    try {
      return (await client.query(query)).rows as T[];
    } catch (e) {
      // PostgreSQL drops a statement whose first run failed (a value it could not bind); the
      // embedded database keeps it, and pg, which forgot it, parses it again: make room once.
      if ((e as { code?: unknown }).code !== '42P05') throw e;
      await client.query(`DEALLOCATE ${query.name}`);
      return (await client.query(query)).rows as T[];
    }
  } catch (e) {
    // An error of the connection itself (refused, timeout, terminated): as it is, and the
    // connection leaves the pool. A statement's error leaves the connection usable.
    if (!(e instanceof Error) || !('severity' in e) || typeof (e as { code?: unknown }).code !== 'string') {
      broken = e instanceof Error ? e : new Error(String(e));
      throw e;
    }
    dataSource.logger.logQueryError(e, text, values);
    throw new QueryFailedError(text, values, e);
  } finally {
    client.release(broken);
  }
}
