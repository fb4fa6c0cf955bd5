import type { DataSource } from 'typeorm';
import { fillSql } from './sql-template';

/**
 * The statements of every lease queue (lease-queue.ts: the outbox, the webhook deliveries), as
 * templates: the names in braces are filled from the table's LeaseTable once, when its queue is
 * made (they come from the code, never from input). A queued row has `id`, `status` ('pending',
 * its done status, 'failed'), `attempts`, `next_attempt_at`, `locked_until` and `last_error`.
 */
export const SQL = {
  /**
   * Leases up to $1 due rows (a short lease in locked_until, so another dispatcher skips them and
   * no transaction is held while they are sent) and counts the attempt, in one autocommitted
   * statement. `{claimed}` answers from the `claimed` rows: SQL.claimed, or the table's own.
   */
  claim: `WITH claimed AS (
      UPDATE {table} SET locked_until = now() + interval '2 minutes', attempts = attempts + 1
       WHERE id IN (SELECT id FROM {table}
                     WHERE status = 'pending' AND next_attempt_at <= now()
                       AND (locked_until IS NULL OR locked_until < now())
                     ORDER BY next_attempt_at, id
                     LIMIT $1
                     FOR UPDATE SKIP LOCKED)
       RETURNING *)
    {claimed}`,
  /** The claimed rows, in the order they came due. */
  claimed: `SELECT * FROM claimed ORDER BY next_attempt_at, id`,
  /** Row $1 is done (sent, delivered); `{outcome}` sets the table's outcome columns from $2 on. */
  done: `UPDATE {table} SET status = '{doneStatus}', {doneAt} = now(), locked_until = NULL, last_error = NULL{outcome}
    WHERE id = $1`,
  /** SQL.done, then the table's `{afterDone}`, which reads the row as `done`, in the same statement. */
  doneThen: `WITH done AS ({done} RETURNING *) {afterDone}`,
  /** Row $1 failed for good with error $2; `{outcome}` from $3 on. */
  failed: `UPDATE {table} SET status = 'failed', locked_until = NULL, last_error = $2{outcome} WHERE id = $1`,
  /** Row $1 is attempted again in $2 ms (its lease released), error $3; `{outcome}` from $4 on. */
  retry: `UPDATE {table} SET next_attempt_at = now() + $2 * interval '1 millisecond', locked_until = NULL, last_error = $3{outcome}
    WHERE id = $1`,
  /**
   * Row $1 was not attempted (Attempt.waitMs): put back for $2 ms, its lease released and the
   * attempt its claim counted given back, with the reason $3.
   */
  release: `UPDATE {table} SET next_attempt_at = now() + $2 * interval '1 millisecond', locked_until = NULL,
      attempts = greatest(attempts - 1, 0), last_error = $3
    WHERE id = $1`,
  /** One outcome column set from parameter `{param}` (`$2`, ...). */
  outcome: `, {column} = {param}`,
} as const;

/** What a lease queue needs to know of its table. */
export interface LeaseTable {
  /** The table: `outbox`, `webhook_deliveries`. */
  table: string;
  /** The status of a done row (`sent`, `delivered`) and the column stamped then (`sent_at`, `delivered_at`). */
  doneStatus: string;
  doneAt: string;
  /** Columns recording the last attempt's outcome beside last_error (`last_status_code`), set from Attempt.outcome in this order. */
  outcomeColumns?: readonly string[];
  /** What a claim answers from the `claimed` rows, when not SQL.claimed (the webhook deliveries add their target). */
  claimed?: string;
  /** A statement run with SQL.done that reads the done row as `done` (the outbox marks its conversation message sent). */
  afterDone?: string;
}

/** The statements of one table's queue. */
export interface LeaseStatements {
  claim: string;
  done: string;
  failed: string;
  retry: string;
  release: string;
}

/** SQL's templates filled for `t`. */
export function leaseStatements(t: LeaseTable): LeaseStatements {
  const outcome = (first: number) =>
    (t.outcomeColumns ?? []).map((column, i) => fillSql(SQL.outcome, { column, param: `$${first + i}` })).join('');
  const base = { table: t.table, doneStatus: t.doneStatus, doneAt: t.doneAt };
  const done = fillSql(SQL.done, { ...base, outcome: outcome(2) });
  return {
    claim: fillSql(SQL.claim, { ...base, claimed: t.claimed ?? SQL.claimed }),
    done: t.afterDone ? fillSql(SQL.doneThen, { done, afterDone: t.afterDone }) : done,
    failed: fillSql(SQL.failed, { ...base, outcome: outcome(3) }),
    retry: fillSql(SQL.retry, { ...base, outcome: outcome(4) }),
    release: fillSql(SQL.release, base),
  };
}

/**
 * What a lease queue needs of its table (LeaseQueue; an in-memory fake in unit tests). `outcome`
 * holds the values of the table's outcome columns (LeaseTable.outcomeColumns), in their order.
 */
export interface LeaseStore<T> {
  /** Leases up to `limit` due rows, the longest due first, and counts an attempt on each. */
  claim(limit: number): Promise<T[]>;
  /** The row is done (sent, delivered): stamped, its lease and last error cleared. */
  markDone(id: string | number, outcome?: readonly unknown[]): Promise<void>;
  /** The row failed for good: it is not attempted again. */
  markFailed(id: string | number, error: string, outcome?: readonly unknown[]): Promise<void>;
  /** The row is attempted again in `delayMs`: its lease released, the error kept. */
  retryIn(id: string | number, delayMs: number, error: string, outcome?: readonly unknown[]): Promise<void>;
  /** The row was not attempted: due again in `delayMs`, its lease released, its claim's attempt given back. */
  release(id: string | number, delayMs: number, reason: string): Promise<void>;
}

/** The lease queue of one table, over the app's DataSource; rows mapped by `fromRow`. */
export class LeaseQueueRepository<T> implements LeaseStore<T> {
  /** The statements, filled once: their texts never change. */
  readonly statements: LeaseStatements;

  constructor(
    private readonly dataSource: DataSource,
    table: LeaseTable,
    private readonly fromRow: (row: Record<string, unknown>) => T,
  ) {
    this.statements = leaseStatements(table);
  }

  async claim(limit: number): Promise<T[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(this.statements.claim, [limit]);
    return rows.map(this.fromRow);
  }

  async markDone(id: string | number, outcome: readonly unknown[] = []): Promise<void> {
    await this.dataSource.query(this.statements.done, [id, ...outcome]);
  }

  async markFailed(id: string | number, error: string, outcome: readonly unknown[] = []): Promise<void> {
    await this.dataSource.query(this.statements.failed, [id, error, ...outcome]);
  }

  async retryIn(id: string | number, delayMs: number, error: string, outcome: readonly unknown[] = []): Promise<void> {
    await this.dataSource.query(this.statements.retry, [id, delayMs, error, ...outcome]);
  }

  async release(id: string | number, delayMs: number, reason: string): Promise<void> {
    await this.dataSource.query(this.statements.release, [id, delayMs, reason]);
  }
}
