import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AssignmentMode } from '../config/config-variables';

/** The statements of the groups table (written to groups.repository.sql by `npm run sql`). */
export const SQL = {
  list: `SELECT id, name, assignment, reassign_when_unavailable FROM groups ORDER BY lower(name), id`,
  findById: `SELECT id, name, assignment, reassign_when_unavailable FROM groups WHERE id = $1`,
  /** No row when the name is taken in any case (the unique index groups_name_key on lower(name)). */
  insert: `INSERT INTO groups (name) VALUES ($1) ON CONFLICT ((lower(name))) DO NOTHING RETURNING id, name, assignment, reassign_when_unavailable`,
  /** No row when there is no such group or another group has the name in any case. */
  rename: `UPDATE groups SET name = $2
       WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM groups o WHERE lower(o.name) = lower($2) AND o.id <> $1)
       RETURNING id, name, assignment, reassign_when_unavailable`,
  /** Sets the automatic assignment of group $1: mode $2 and reassign-when-unavailable $3 (null keeps each); no row when unknown. */
  setAssignment: `UPDATE groups SET assignment = COALESCE($2, assignment),
              reassign_when_unavailable = COALESCE($3, reassign_when_unavailable)
       WHERE id = $1 RETURNING id, name, assignment, reassign_when_unavailable`,
  /**
   * Deletes a group no mailbox routes to and no request is in (its operators leave it); no row
   * when it is missing or still used.
   */
  deleteUnused: `DELETE FROM groups g WHERE g.id = $1
       AND NOT EXISTS (SELECT 1 FROM mailboxes m WHERE m.group_id = g.id)
       AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.group_id = g.id)
       RETURNING id`,
} as const;

/** A group (queue) operators work in, with its automatic assignment (docs/assignment.md). */
export interface Group {
  id: number;
  name: string;
  /** How its new requests find an operator. */
  assignment: AssignmentMode;
  /** Whether an operator who becomes unavailable hands their requests in progress here back to the pool. */
  reassignWhenUnavailable: boolean;
}

/** The row as PostgreSQL returns it. */
interface GroupRow {
  id: number;
  name: string;
  assignment: AssignmentMode;
  reassign_when_unavailable: boolean;
}

function toGroup(r: GroupRow): Group {
  return { id: r.id, name: r.name, assignment: r.assignment, reassignWhenUnavailable: r.reassign_when_unavailable };
}

/** What may change of a group's automatic assignment (absent: kept). */
export interface AssignmentSettings {
  assignment?: AssignmentMode;
  reassignWhenUnavailable?: boolean;
}

/** What the group rules need of storage (GroupsService; an in-memory fake in unit tests). */
export interface GroupsStore {
  /** Every group, by name. */
  list(): Promise<Group[]>;
  findById(id: number): Promise<Group | null>;
  /** The new group, or null when the name is taken (in any case). */
  insert(name: string): Promise<Group | null>;
  /** The renamed group, or null when there is none with this id or the name is taken (in any case). */
  rename(id: number, name: string): Promise<Group | null>;
  /** The group with its assignment settings changed, or null when there is none with this id. */
  setAssignment(id: number, settings: AssignmentSettings): Promise<Group | null>;
  /** Whether the group was deleted (false: missing, or a mailbox or a request still uses it). */
  deleteUnused(id: number): Promise<boolean>;
}

/** The groups table. Memberships (operator_groups) are the operators' (OperatorsRepository). */
@Injectable()
export class GroupsRepository implements GroupsStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(): Promise<Group[]> {
    const rows: GroupRow[] = await this.dataSource.query(SQL.list);
    return rows.map(toGroup);
  }

  async findById(id: number): Promise<Group | null> {
    const rows: GroupRow[] = await this.dataSource.query(SQL.findById, [id]);
    return rows[0] ? toGroup(rows[0]) : null;
  }

  async insert(name: string): Promise<Group | null> {
    const rows: GroupRow[] = await this.dataSource.query(SQL.insert, [name]);
    return rows[0] ? toGroup(rows[0]) : null;
  }

  async rename(id: number, name: string): Promise<Group | null> {
    const [rows]: [GroupRow[], number] = await this.dataSource.query(SQL.rename, [id, name]);
    return rows[0] ? toGroup(rows[0]) : null;
  }

  async setAssignment(id: number, settings: AssignmentSettings): Promise<Group | null> {
    const [rows]: [GroupRow[], number] = await this.dataSource.query(SQL.setAssignment, [
      id,
      settings.assignment ?? null,
      settings.reassignWhenUnavailable ?? null,
    ]);
    return rows[0] ? toGroup(rows[0]) : null;
  }

  async deleteUnused(id: number): Promise<boolean> {
    const [rows]: [unknown[], number] = await this.dataSource.query(SQL.deleteUnused, [id]);
    return rows.length > 0;
  }
}
