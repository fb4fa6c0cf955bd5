/**
 * Session settings of every connection: no parallel query. The app's statements are short and
 * many run at once; a parallel plan's worker start-up cost 30-50 ms on a 2-core server for a search
 * that needs 0.2 ms (docs/performance.md, "Session settings"), and the workers take the cores other
 * requests need. READ COMMITTED whatever the server's default, so transactions need no SET
 * TRANSACTION round trip.
 * Prepared statements (src/database/prepared.ts) with PostgreSQL's own choice of plan (`auto`,
 * whatever the server's default): planned for their values five times, then once for all when that
 * generic plan costs no more. Planning the list took 0.6-1.4 ms, running it 0.3-0.5 (1M requests).
 */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = {
  max_parallel_workers_per_gather: '0',
  default_transaction_isolation: 'read committed',
  plan_cache_mode: 'auto',
};

/** SESSION_SETTINGS as the `options` of a connection's startup message (`-c name=value`, spaces escaped). */
export const SESSION_OPTIONS = Object.entries(SESSION_SETTINGS)
  .map(([name, value]) => `-c ${name}=${value.replace(/ /g, '\\ ')}`)
  .join(' ');
