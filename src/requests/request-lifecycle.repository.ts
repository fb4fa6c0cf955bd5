import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { RequestStatus } from './request.entity';

/**
 * The statements of a request's lifecycle: taking, handing over, putting back and closing it
 * (written to request-lifecycle.repository.sql by `npm run sql`).
 */
export const SQL = {
  lockRequest: `SELECT status, operator_id FROM requests WHERE id = $1 FOR UPDATE`,
  /** The assignee's row lock: concurrent assignments to one operator count their requests one after the other. */
  lockOperator: `SELECT id FROM operators WHERE id = $1 FOR UPDATE`,
  countInProgress: `SELECT count(*)::int AS n FROM requests WHERE operator_id = $1 AND status = 'in_progress'`,
  /** Only from status $2: no row when the request was not in that state (someone else got there first). */
  transition: `UPDATE requests SET status = $3, updated_at = clock_timestamp(),
              operator_id = COALESCE($4, operator_id),
              closed_at = CASE WHEN $3 = 'closed' THEN clock_timestamp() ELSE closed_at END
       WHERE id = $1 AND status = $2 RETURNING id`,
  /** A null assignee puts the request back to `new`; no row when it is not in progress. */
  setAssignee: `UPDATE requests SET operator_id = $2, status = CASE WHEN $2::integer IS NULL THEN 'new' ELSE status END,
              updated_at = clock_timestamp()
       WHERE id = $1 AND status = 'in_progress' RETURNING id`,
} as const;

/** Status and assignee of a request, as read under its row lock. */
export interface LockedRequest {
  status: RequestStatus;
  operatorId: number | null;
}

/** What the lifecycle rules need of storage (RequestLifecycleService; an in-memory fake in unit tests). */
export interface RequestLifecycleStore {
  /** Runs `work` in one transaction: the change, its event and the mail it causes commit together. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  /** Status and assignee of a request, row-locked for this transaction; null when it does not exist. */
  lockForUpdate(manager: EntityManager, requestId: number): Promise<LockedRequest | null>;
  /** Locks the operator's row for this transaction (capacity checks on one operator run one at a time). */
  lockOperator(manager: EntityManager, operatorId: number): Promise<void>;
  /** Requests in progress assigned to this operator. */
  countInProgress(manager: EntityManager, operatorId: number): Promise<number>;
  /**
   * Conditional status change: only from `from`, setting the assignee when given; false when the
   * request was not in that state, so two concurrent takes give one success.
   */
  transition(
    manager: EntityManager,
    requestId: number,
    from: RequestStatus,
    to: RequestStatus,
    operatorId?: number,
  ): Promise<boolean>;
  /** Sets the assignee of a request in progress (or, with null, puts it back to `new`); false when not in progress. */
  setAssignee(manager: EntityManager, requestId: number, operatorId: number | null): Promise<boolean>;
}

/** The rows a request's lifecycle changes: its status and assignee, and the assignee's lock. */
@Injectable()
export class RequestLifecycleRepository implements RequestLifecycleStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async lockForUpdate(manager: EntityManager, requestId: number): Promise<LockedRequest | null> {
    const rows: Array<{ status: RequestStatus; operator_id: number | null }> = await manager.query(SQL.lockRequest, [
      requestId,
    ]);
    return rows[0] ? { status: rows[0].status, operatorId: rows[0].operator_id } : null;
  }

  async lockOperator(manager: EntityManager, operatorId: number): Promise<void> {
    await manager.query(SQL.lockOperator, [operatorId]);
  }

  async countInProgress(manager: EntityManager, operatorId: number): Promise<number> {
    const rows: Array<{ n: number }> = await manager.query(SQL.countInProgress, [operatorId]);
    return rows[0].n;
  }

  async transition(
    manager: EntityManager,
    requestId: number,
    from: RequestStatus,
    to: RequestStatus,
    operatorId?: number,
  ): Promise<boolean> {
    const [rows]: [Array<{ id: number }>, number] = await manager.query(SQL.transition, [
      requestId,
      from,
      to,
      operatorId ?? null,
    ]);
    return rows.length === 1;
  }

  async setAssignee(manager: EntityManager, requestId: number, operatorId: number | null): Promise<boolean> {
    const [rows]: [Array<{ id: number }>, number] = await manager.query(SQL.setAssignee, [requestId, operatorId]);
    return rows.length === 1;
  }
}
