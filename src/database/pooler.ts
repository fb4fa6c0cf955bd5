import type { DataSource } from 'typeorm';

/** What DATABASE_POOLER accepts: `none` (DATABASE_URL is PostgreSQL or a session-mode pool) or `pgbouncer` (transaction mode). */
export const DATABASE_POOLERS = ['none', 'pgbouncer'] as const;
export type DatabasePooler = (typeof DATABASE_POOLERS)[number];

/** What DATABASE_PREPARED_STATEMENTS accepts (`auto`: on, unless DATABASE_POOLER=pgbouncer). */
export const PREPARED_STATEMENT_MODES = ['auto', 'on', 'off'] as const;
export type PreparedStatementMode = (typeof PREPARED_STATEMENT_MODES)[number];

/**
 * How the app reaches PostgreSQL (docs/pgbouncer.md). Behind PgBouncer in transaction mode, one
 * client connection is a different server session from one transaction to the next, so:
 *
 * - the pool's connections send no startup `options` (PgBouncer refuses unknown startup
 *   parameters: "unsupported startup parameter: options"); SESSION_SETTINGS are then the server's
 *   (`ALTER ROLE ... SET`, or PgBouncer's `connect_query`);
 * - named prepared statements (prepared.ts) are off unless asked for (PgBouncer 1.21+ with
 *   `max_prepared_statements` tracks them; 1.18, Debian's, does not);
 * - whatever needs a session of its own (the migrations' advisory lock, the IMAP leadership's
 *   advisory locks, LISTEN) connects to `directUrl`: PostgreSQL itself, or a session-mode pool.
 */
export interface DatabaseConnection {
  pooler: DatabasePooler;
  /** Where sessions of their own connect (DATABASE_DIRECT_URL); the pool's URL when unset. */
  directUrl?: string;
  preparedStatements: PreparedStatementMode;
}

/** The connection of a DataSource created without one: straight to PostgreSQL. */
export const DIRECT_CONNECTION: DatabaseConnection = { pooler: 'none', preparedStatements: 'auto' };

/** The property of the DataSource's options that carries its DatabaseConnection (dataSourceOptions). */
export const CONNECTION_OPTION = 'maildeskConnection';

/** The DatabaseConnection a DataSource was created with (DIRECT_CONNECTION when none). */
export function connectionOf(dataSource: DataSource): DatabaseConnection {
  return (dataSource.options as { [CONNECTION_OPTION]?: DatabaseConnection })[CONNECTION_OPTION] ?? DIRECT_CONNECTION;
}

/** Whether the DataSource's pool sends named prepared statements. */
export function namedStatements(connection: DatabaseConnection): boolean {
  return connection.preparedStatements === 'auto'
    ? connection.pooler !== 'pgbouncer'
    : connection.preparedStatements === 'on';
}

/** Whether a pool connection's session lasts as long as the connection (false behind a transaction-mode pooler). */
export function poolHoldsSessions(connection: DatabaseConnection): boolean {
  return connection.pooler !== 'pgbouncer';
}

/**
 * The URL of a connection that needs a session of its own (advisory locks held over time, LISTEN):
 * DATABASE_DIRECT_URL when set, else the DataSource's own URL.
 */
export function sessionUrl(dataSource: DataSource): string | undefined {
  return connectionOf(dataSource).directUrl ?? (dataSource.options as { url?: string }).url;
}
