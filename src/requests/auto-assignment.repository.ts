import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AssignmentMode } from '../config/config-variables';
import type { AssignmentCandidate } from './assignment-picker';

/**
 * The statements of automatic assignment (written to auto-assignment.repository.sql by
 * `npm run sql`). A scope is a group (its id) or the requests in no group (NULL, whose state is the
 * one row of auto_assignment_default). Lock order, the same in every assigner so none deadlocks
 * another: the scope's row, then its candidates' operator rows by id, then request rows with SKIP
 * LOCKED (never waiting for one).
 */
export const SQL = {
  /** The groups whose assignment is on. */
  enabledGroups: `SELECT id FROM groups WHERE assignment <> 'off' ORDER BY id`,
  /** Group $1's mode and round-robin pointer, its row locked: the group's assigners run one at a time. */
  lockGroup: `SELECT assignment, last_assigned_operator_id FROM groups WHERE id = $1 FOR UPDATE`,
  /** The pointer of the requests in no group, its row locked (their mode is AUTO_ASSIGNMENT). */
  lockDefault: `SELECT last_assigned_operator_id FROM auto_assignment_default FOR UPDATE`,
  /**
   * Locks the candidates of scope $1 by id: active, available operators in group $1 (NULL: in no
   * group). Their loads are counted by the next statement, whose snapshot is taken after these
   * locks are held (READ COMMITTED): it sees every assignment committed by their previous holder.
   */
  lockCandidates: `SELECT o.id FROM operators o
       WHERE o.active AND o.available
         AND CASE WHEN $1::integer IS NULL
                  THEN NOT EXISTS (SELECT 1 FROM operator_groups og WHERE og.operator_id = o.id)
                  ELSE EXISTS (SELECT 1 FROM operator_groups og WHERE og.operator_id = o.id AND og.group_id = $1)
             END
       ORDER BY o.id FOR UPDATE OF o`,
  /** Operators $1 (locked by the caller) with their capacity and the requests they hold in progress. */
  candidateLoads: `SELECT o.id, o.name, o.capacity, o.last_auto_assigned_at,
         (SELECT count(*)::int FROM requests r WHERE r.operator_id = o.id AND r.status = 'in_progress') AS load
       FROM operators o WHERE o.id = ANY ($1::integer[]) ORDER BY o.id`,
  /**
   * Up to $2 unassigned new requests of scope $1, oldest first, row-locked; rows another assigner
   * holds are skipped (SKIP LOCKED), so two instances never take the same one. `assigned_before`:
   * it was assigned once (handed back to the pool since: an `unassigned` event), so the customer's mail follows
   * REASSIGN_NOTIFY.
   */
  claimUnassigned: `SELECT r.id, r.subject,
         EXISTS (SELECT 1 FROM request_events e WHERE e.request_id = r.id AND e.type IN ('assigned', 'reassigned', 'unassigned'))
           AS assigned_before
       FROM requests r
       WHERE COALESCE(r.group_id, 0) = COALESCE($1::integer, 0) AND r.status = 'new' AND r.operator_id IS NULL
       ORDER BY r.id LIMIT $2
       FOR UPDATE OF r SKIP LOCKED`,
  saveGroupPointer: `UPDATE groups SET last_assigned_operator_id = $2 WHERE id = $1`,
  saveDefaultPointer: `UPDATE auto_assignment_default SET last_assigned_operator_id = $1`,
  /** Operator $1 was just given a request automatically (the least-loaded tie-break). */
  markAutoAssigned: `UPDATE operators SET last_auto_assigned_at = clock_timestamp() WHERE id = $1`,
  /**
   * Operator $1's requests in progress in the groups that hand them back when they become
   * unavailable, and in no group when $2 (AUTO_REASSIGN_WHEN_UNAVAILABLE), row-locked: before the
   * operator's row, as every path that locks both (a take, a reassignment) does.
   */
  releasable: `SELECT r.id FROM requests r LEFT JOIN groups g ON g.id = r.group_id
       WHERE r.operator_id = $1 AND r.status = 'in_progress'
         AND (g.reassign_when_unavailable OR (r.group_id IS NULL AND $2::boolean))
       ORDER BY r.id
       FOR UPDATE OF r`,
} as const;

/** A scope's assignment state, locked for the caller's transaction. */
export interface ScopeState {
  /** The group's mode; for the requests in no group, null (AUTO_ASSIGNMENT decides). */
  mode: AssignmentMode | null;
  /** The operator the previous request went to (round robin), null: none yet. */
  pointer: number | null;
}

/** An unassigned new request claimed for assignment. */
export interface Claimed {
  id: number;
  subject: string;
  /** It was assigned before and handed back to the pool. */
  assignedBefore: boolean;
}

/** What automatic assignment needs of storage (AutoAssignmentService; an in-memory fake in unit tests). */
export interface AutoAssignmentStore {
  /** Runs `work` in one transaction. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  /** The ids of the groups whose assignment is on. */
  enabledGroups(): Promise<number[]>;
  /** The scope's state, its row locked; null for a group that no longer exists. */
  lockScope(manager: EntityManager, groupId: number | null): Promise<ScopeState | null>;
  /** The scope's candidates, row-locked by id, with their loads counted under the locks. */
  lockCandidates(manager: EntityManager, groupId: number | null): Promise<AssignmentCandidate[]>;
  /** Up to `limit` unassigned new requests of the scope, oldest first, row-locked (skipping locked ones). */
  claimUnassigned(manager: EntityManager, groupId: number | null, limit: number): Promise<Claimed[]>;
  /** Moves the scope's round-robin pointer. */
  savePointer(manager: EntityManager, groupId: number | null, operatorId: number): Promise<void>;
  /** Records that the operator was just given a request automatically. */
  markAutoAssigned(manager: EntityManager, operatorId: number): Promise<void>;
  /** The operator's requests in progress that go back to the pool when they become unavailable, row-locked. */
  releasable(manager: EntityManager, operatorId: number, includeNoGroup: boolean): Promise<number[]>;
}

/** Automatic assignment's reads and writes across groups, operators and requests (docs/assignment.md). */
@Injectable()
export class AutoAssignmentRepository implements AutoAssignmentStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async enabledGroups(): Promise<number[]> {
    const rows: Array<{ id: number }> = await this.dataSource.query(SQL.enabledGroups);
    return rows.map((r) => r.id);
  }

  async lockScope(manager: EntityManager, groupId: number | null): Promise<ScopeState | null> {
    if (groupId === null) {
      const rows: Array<{ last_assigned_operator_id: number | null }> = await manager.query(SQL.lockDefault);
      return { mode: null, pointer: rows[0]?.last_assigned_operator_id ?? null };
    }
    const rows: Array<{ assignment: AssignmentMode; last_assigned_operator_id: number | null }> = await manager.query(
      SQL.lockGroup,
      [groupId],
    );
    return rows[0] ? { mode: rows[0].assignment, pointer: rows[0].last_assigned_operator_id } : null;
  }

  async lockCandidates(manager: EntityManager, groupId: number | null): Promise<AssignmentCandidate[]> {
    const locked: Array<{ id: number }> = await manager.query(SQL.lockCandidates, [groupId]);
    if (!locked.length) return [];
    const rows: Array<{
      id: number;
      name: string;
      capacity: number | null;
      last_auto_assigned_at: Date | null;
      load: number;
    }> = await manager.query(SQL.candidateLoads, [locked.map((r) => r.id)]);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      capacity: r.capacity,
      load: r.load,
      lastAutoAssignedAt: r.last_auto_assigned_at ? new Date(r.last_auto_assigned_at) : null,
    }));
  }

  async claimUnassigned(manager: EntityManager, groupId: number | null, limit: number): Promise<Claimed[]> {
    const rows: Array<{ id: number; subject: string; assigned_before: boolean }> = await manager.query(
      SQL.claimUnassigned,
      [groupId, limit],
    );
    return rows.map((r) => ({ id: r.id, subject: r.subject, assignedBefore: r.assigned_before }));
  }

  async savePointer(manager: EntityManager, groupId: number | null, operatorId: number): Promise<void> {
    if (groupId === null) await manager.query(SQL.saveDefaultPointer, [operatorId]);
    else await manager.query(SQL.saveGroupPointer, [groupId, operatorId]);
  }

  async markAutoAssigned(manager: EntityManager, operatorId: number): Promise<void> {
    await manager.query(SQL.markAutoAssigned, [operatorId]);
  }

  async releasable(manager: EntityManager, operatorId: number, includeNoGroup: boolean): Promise<number[]> {
    const rows: Array<{ id: number }> = await manager.query(SQL.releasable, [operatorId, includeNoGroup]);
    return rows.map((r) => r.id);
  }
}
