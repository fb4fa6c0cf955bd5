import { createHash } from 'node:crypto';
import type { CustomTypesConfig, Pool, PoolClient, QueryResult as PgResult } from 'pg';
import {
  DataSource,
  EntityManager,
  NamedPlaceholdersNotSupportedError,
  QueryFailedError,
  QueryResult,
  QueryRunnerAlreadyReleasedError,
  type QueryRunner,
} from 'typeorm';
import { isEmbeddedDatabase } from './embedded-database';
import { connectionOf, namedStatements } from './pooler';

/**
 * How many texts' names are remembered; past it, the least recently used is forgotten. The texts
 * are unbounded (GET /requests writes LIMIT and OFFSET into its text: one per page of the queue),
 * so this cache is bounded: 5 connections' worth of STATEMENTS_PER_CONNECTION. A forgotten name costs
 * one SHA-1 when its text comes back, and is the same name (still prepared where it was).
 */
export const STATEMENT_NAMES_CACHED = 1000;

/** Statement names by SQL text, least recently used first: a name is a hash of the text, so one text always has one name. */
const names = new Map<string, string>();

/** The name of a statement: `md_` and 24 hex digits of its SHA-1 (PostgreSQL allows 63 bytes). */
export function statementName(text: string): string {
  let name = names.get(text);
  if (name) {
    names.delete(text);
  } else {
    name = `md_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    if (names.size >= STATEMENT_NAMES_CACHED) names.delete(names.keys().next().value!);
  }
  names.set(text, name);
  return name;
}

/** How many texts' names are remembered now (for the tests). */
export function statementNamesCached(): number {
  return names.size;
}

/** How many named statements one connection keeps; past it, the least recently used is deallocated. */
export const STATEMENTS_PER_CONNECTION = 200;

/** Per pool connection: its named statements, least recently used first. */
const prepared = new WeakMap<PoolClient, Map<string, true>>();

/**
 * Makes room for `name` on `client` (LRU), deallocating the statement used longest ago. In a
 * transaction (`inTransaction`) only a statement pg saw parsed is deallocated: an error there
 * (26000, a name the server never had) would abort the caller's transaction.
 */
async function admit(client: PoolClient, name: string, inTransaction = false): Promise<void> {
  let names = prepared.get(client);
  if (!names) prepared.set(client, (names = new Map()));
  if (names.delete(name)) {
    names.set(name, true);
    return;
  }
  names.set(name, true);
  if (names.size <= STATEMENTS_PER_CONNECTION) return;
  const [oldest] = names.keys();
  names.delete(oldest);
  const parsed = (client as unknown as { connection: { parsedStatements: Record<string, unknown> } }).connection
    .parsedStatements;
  if (inTransaction && parsed[oldest] === undefined) return;
  await client.query(`DEALLOCATE ${oldest}`).catch((e: { code?: unknown }) => {
    if (e.code !== '26000') throw e; // already gone: nothing to free
  });
  // pg remembers which names it parsed on this connection; forget this one so a later use parses it again.
  delete (client as unknown as { connection: { parsedStatements: Record<string, unknown> } }).connection
    .parsedStatements[oldest];
}

/**
 * Runs a read of a hot path (the operator lookup of every API call, `GET /requests`,
 * `GET /requests/:id`) straight on the connection pool, by default as a named prepared statement.
 *
 * PostgreSQL parses a named statement once per connection, and after five runs plans it once too
 * when its generic plan costs no more than the ones made for the values (plan_cache_mode `auto`):
 * on 1M requests planning the list took longer than running it (docs/performance.md, "Prepared
 * statements on the pool", which also names the pg internals this reads). The texts must let
 * the planner cost a generic plan: LIMIT and OFFSET are literals (a bound LIMIT is costed as 10% of
 * the table, and that plan reads all of it). `{ named: false }` sends an unnamed statement, planned
 * for its values every time: for reads whose best plan depends on the values (text search).
 * `types` replaces pg's type parsers for this read (ISO_TIMESTAMPS: dates as ISO strings).
 * TypeORM's `query()` only sends unnamed statements and takes a query runner per call; skipping it
 * took a fifth of the CPU of a list call. Each connection keeps at most STATEMENTS_PER_CONNECTION
 * statements (one per page of a list, say), the least recently used deallocated. Errors come back
 * as TypeORM's `QueryFailedError`, logged by its logger, exactly as from `DataSource.query()`.
 *
 * Behind PgBouncer in transaction mode (DATABASE_POOLER=pgbouncer) every statement is unnamed,
 * as with `{ named: false }`, unless DATABASE_PREPARED_STATEMENTS=on (PgBouncer 1.21 or later with
 * `max_prepared_statements` set): a named statement is prepared on one server session and run on
 * another (docs/pgbouncer.md).
 */
export async function preparedQuery<T>(
  dataSource: DataSource,
  text: string,
  values: unknown[],
  { named = true, types }: { named?: boolean; types?: CustomTypesConfig } = {},
): Promise<T[]> {
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const name = named && namedStatements(connectionOf(dataSource)) ? statementName(text) : undefined;
  const query = { name, text, values, types };
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    try {
      if (name) await admit(client, name);
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

/** What TypeORM's PostgresQueryRunner keeps that the lean query below reads. */
interface PgQueryRunner {
  databaseConnection?: PoolClient;
  isReleased: boolean;
  query: (text: string, parameters?: unknown[], useStructuredResult?: boolean) => Promise<unknown>;
}

/**
 * Whether TypeORM's query() would do, besides sending the statement, nothing a lean one skips: no
 * subscriber listens to statements (after-commit.ts's listens to transactions only), no slow-query
 * log, statements not logged (`logging: ['error']`: the failed ones are, below as there).
 */
function leanQueriesAllowed(dataSource: DataSource): boolean {
  const { maxQueryExecutionTime, logging } = dataSource.options;
  return (
    !maxQueryExecutionTime &&
    Array.isArray(logging) &&
    logging.every((l) => l === 'error') &&
    dataSource.subscribers.every((s) => !s.beforeQuery && !s.afterQuery)
  );
}

/**
 * Makes the transaction of `manager` send each statement with parameters as a named prepared
 * statement (the names and the per-connection LRU of preparedQuery): PostgreSQL parses each text
 * once per connection, and plans it once when a generic plan is as good. For a transaction of many
 * short writes (the ingest transaction: InboundMailRepository.transaction) parsing and planning were
 * a quarter of PostgreSQL's CPU per mail (bench/results/history.md, "Performance, second round:
 * ingest"). Only on PostgreSQL itself: on the embedded database (a statement whose first run failed
 * stays prepared there while pg forgets it: preparedQuery's 42P05, which a transaction could not
 * retry) and behind PgBouncer without prepared statements, the transaction is left as it is.
 *
 * The transaction's query() is a lean copy of TypeORM's (PostgresQueryRunner.query: the same
 * result shapes, QueryFailedError and error log) without what it does for nobody here (an await of
 * the connection, the query-event broadcasts with their promises, two clocks per statement): ~14%
 * less Node CPU per statement, 0.2-0.3 ms per mail, below what whole-app runs resolve
 * (docs/performance.md, "A lean query() in the ingest transaction"). Where something listens to statements (leanQueriesAllowed), TypeORM's
 * query() stays and only the statements are named. Call it first thing in the transaction.
 */
export async function nameTransactionStatements(manager: EntityManager): Promise<void> {
  const runner = manager.queryRunner as unknown as PgQueryRunner | undefined;
  const client = runner?.databaseConnection;
  if (!runner || !client || !namedStatements(connectionOf(manager.connection))) return;
  if (await isEmbeddedDatabase(manager.connection)) return;
  const send = async (text: unknown, values?: unknown[]): Promise<PgResult> => {
    if (typeof text !== 'string' || !values?.length) return client.query(text as string, values);
    const name = statementName(text);
    await admit(client, name, true);
    return client.query({ name, text, values });
  };
  if (!leanQueriesAllowed(manager.connection)) {
    // TypeORM keeps the connection as `databaseConnection` (its query() calls .query on it, its
    // release removes its error listener): everything but query() goes to the client itself.
    runner.databaseConnection = new Proxy(client, {
      get(target, prop) {
        if (prop === 'query') return send;
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return;
  }
  const dataSource = manager.connection;
  runner.query = async (text, parameters, useStructuredResult = false) => {
    if (runner.isReleased) throw new QueryRunnerAlreadyReleasedError();
    if (parameters && !Array.isArray(parameters)) throw new NamedPlaceholdersNotSupportedError();
    let raw: PgResult;
    try {
      raw = await send(text, parameters);
    } catch (e) {
      dataSource.logger.logQueryError(e as Error, text, parameters, runner as unknown as QueryRunner);
      throw new QueryFailedError(text, parameters, e as Error);
    }
    // As TypeORM shapes it: an UPDATE or DELETE as [rows, rowCount], anything else as its rows.
    const result = new QueryResult();
    if (raw) {
      if (Object.hasOwn(raw, 'rows')) result.records = raw.rows;
      if (Object.hasOwn(raw, 'rowCount')) (result as { affected?: number | null }).affected = raw.rowCount;
      result.raw = raw.command === 'DELETE' || raw.command === 'UPDATE' ? [raw.rows, raw.rowCount] : raw.rows;
      if (!useStructuredResult) return result.raw;
    }
    return result;
  };
}
