import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, Not, Repository } from 'typeorm';
import { preparedQuery } from '../database/prepared';
import { Operator, OperatorRole } from './operator.entity';

/**
 * The hand-written statements of the operators table (written to operators.repository.sql by
 * `npm run sql`); the rest are TypeORM's (see OperatorsRepository).
 */
export const SQL = {
  /** The operator lookup of every authenticated call (also run by the queue bench's SQL-alone ceiling). */
  activeIdentity: `SELECT o.id, o.email, o.name, o.role, o.token_version,
         ARRAY(SELECT og.group_id FROM operator_groups og WHERE og.operator_id = o.id ORDER BY og.group_id) AS group_ids
       FROM operators o WHERE o.id = $1 AND o.active`,
  /** The groups of operators $1 (an array of ids). */
  groupsOf: `SELECT operator_id, group_id FROM operator_groups WHERE operator_id = ANY ($1::integer[]) ORDER BY operator_id, group_id`,
  deleteGroups: `DELETE FROM operator_groups WHERE operator_id = $1`,
  /** Adds the operator $1 to the groups $2 that exist; the rows added (fewer than asked: an unknown group). */
  insertGroups: `INSERT INTO operator_groups (operator_id, group_id)
       SELECT $1, g.id FROM groups g WHERE g.id = ANY ($2::integer[])
       RETURNING group_id`,
  count: `SELECT count(*)::int AS n FROM operators`,
  /** The first admin, only while there is no operator: one of several instances starting at once wins. */
  insertFirstAdmin: `INSERT INTO operators (name, email, role, password_hash)
       SELECT 'Administrator', $1, 'admin', $2 WHERE NOT EXISTS (SELECT 1 FROM operators)
       ON CONFLICT (email) DO NOTHING RETURNING id`,
  /**
   * The operator's row lock: concurrent assignments to one operator count their requests one after
   * the other; with their own capacity (NULL: OPERATOR_MAX_OPEN).
   */
  lockForUpdate: `SELECT id, capacity FROM operators WHERE id = $1 FOR UPDATE`,
  /** Sets operator $1's availability to $2 under their row lock; the value before (no row: no such operator). */
  setAvailable: `UPDATE operators o SET available = $2, updated_at = clock_timestamp()
       FROM (SELECT id, available FROM operators WHERE id = $1 FOR UPDATE) old
       WHERE o.id = old.id RETURNING old.available AS was`,
  /** How many requests each operator holds in progress (operators with none: no row). */
  loads: `SELECT operator_id, count(*)::int AS n FROM requests
       WHERE status = 'in_progress' AND operator_id IS NOT NULL GROUP BY operator_id`,
} as const;

/** Who an access token's operator is now, with the groups they work in. */
export type Identity = Pick<Operator, 'id' | 'email' | 'name' | 'role' | 'tokenVersion'> & { groupIds: number[] };

/** A new operator's row. */
export interface OperatorRow {
  name: string;
  email: string;
  role: OperatorRole;
  passwordHash: string;
}

/** What the operator rules need of storage (OperatorsService, AdminSeeder; an in-memory fake in unit tests). */
export interface OperatorsStore {
  /** Every operator, active or not, by id (without password hashes). */
  list(): Promise<Operator[]>;
  /** How many operators exist (any state). */
  count(): Promise<number>;
  /** The active operator with this id, or null. */
  activeIdentity(id: number): Promise<Identity | null>;
  /** Adds an active operator; its id, or null when the email is taken. */
  insert(operator: OperatorRow): Promise<number | null>;
  /** Adds the first admin, named Administrator, unless an operator exists; whether it did. */
  insertFirstAdmin(email: string, passwordHash: string): Promise<boolean>;
  /** The operator with this id (without its password hash), or null. */
  findById(id: number): Promise<Operator | null>;
  /** The operator with this email, password hash included, or null. */
  findWithHash(email: string): Promise<Operator | null>;
  /** How many active admins there are besides operator `id`. */
  countOtherActiveAdmins(id: number): Promise<number>;
  /** Writes the fields of `patch` (at least one). */
  update(id: number, patch: Partial<Operator>): Promise<void>;
  /**
   * Locks the operator's row for the caller's transaction (checks of what one operator holds run one
   * at a time); their own capacity (null: the global one; undefined: no such operator).
   */
  lockForUpdate(id: number, manager?: EntityManager): Promise<number | null | undefined>;
  /** Sets the operator's availability (row-locked, in the caller's transaction); the value before, null when unknown. */
  setAvailable(id: number, available: boolean, manager?: EntityManager): Promise<boolean | null>;
  /** How many requests each operator holds in progress (none: no entry). */
  loads(): Promise<Map<number, number>>;
  /** The group ids of each of these operators (an operator in no group: no entry). */
  groupsOf(operatorIds: number[]): Promise<Map<number, number[]>>;
  /**
   * Replaces the operator's groups with `groupIds`, in one transaction; false (nothing changed)
   * when one of them is not a group.
   */
  setGroups(operatorId: number, groupIds: number[]): Promise<boolean>;
}

/** Thrown inside setGroups' transaction to undo it: a group id that names no group. */
class UnknownGroup extends Error {}

/**
 * The operators table. The identity lookup of every call, the first admin's seeding and the row
 * lock of an assignment are hand-written SQL (SQL); the admin API's reads and writes are TypeORM's entity calls (its query
 * builder's ON CONFLICT DO NOTHING for the insert: no failed INSERT, with its hash parameter,
 * reaches the query log).
 */
@Injectable()
export class OperatorsRepository implements OperatorsStore {
  private readonly repo: Repository<Operator>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.repo = dataSource.getRepository(Operator);
  }

  list(): Promise<Operator[]> {
    return this.repo.find({ order: { id: 'ASC' } });
  }

  async count(): Promise<number> {
    const rows: Array<{ n: number }> = await this.dataSource.query(SQL.count);
    return rows[0].n;
  }

  /**
   * One plain, prepared statement: the entity query builder cost more CPU than the rest of a small
   * GET.
   */
  async activeIdentity(id: number): Promise<Identity | null> {
    const rows: Array<
      Pick<Operator, 'id' | 'email' | 'name' | 'role'> & { token_version: number; group_ids: number[] }
    > = await preparedQuery(this.dataSource, SQL.activeIdentity, [id]);
    const row = rows[0];
    return row
      ? {
          id: row.id,
          email: row.email,
          name: row.name,
          role: row.role,
          tokenVersion: row.token_version,
          groupIds: row.group_ids,
        }
      : null;
  }

  async insert(operator: OperatorRow): Promise<number | null> {
    const result = await this.repo
      .createQueryBuilder()
      .insert()
      .into(Operator)
      .values({ ...operator, active: true, tokenVersion: 0 })
      .orIgnore()
      .returning(['id'])
      .execute();
    return (result.raw as Array<{ id: number }>)[0]?.id ?? null;
  }

  async insertFirstAdmin(email: string, passwordHash: string): Promise<boolean> {
    const rows: Array<{ id: number }> = await this.dataSource.query(SQL.insertFirstAdmin, [email, passwordHash]);
    return rows.length > 0;
  }

  findById(id: number): Promise<Operator | null> {
    return this.repo.findOneBy({ id });
  }

  findWithHash(email: string): Promise<Operator | null> {
    return this.repo.createQueryBuilder('o').addSelect('o.passwordHash').where('o.email = :email', { email }).getOne();
  }

  countOtherActiveAdmins(id: number): Promise<number> {
    return this.repo.countBy({ role: 'admin', active: true, id: Not(id) });
  }

  async update(id: number, patch: Partial<Operator>): Promise<void> {
    await this.repo.update({ id }, patch);
  }

  async lockForUpdate(
    id: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<number | null | undefined> {
    const rows: Array<{ capacity: number | null }> = await manager.query(SQL.lockForUpdate, [id]);
    return rows[0]?.capacity;
  }

  async setAvailable(
    id: number,
    available: boolean,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean | null> {
    const [rows]: [Array<{ was: boolean }>, number] = await manager.query(SQL.setAvailable, [id, available]);
    return rows[0]?.was ?? null;
  }

  async loads(): Promise<Map<number, number>> {
    const rows: Array<{ operator_id: number; n: number }> = await this.dataSource.query(SQL.loads);
    return new Map(rows.map((r) => [r.operator_id, r.n]));
  }

  async groupsOf(operatorIds: number[]): Promise<Map<number, number[]>> {
    const groups = new Map<number, number[]>();
    if (!operatorIds.length) return groups;
    const rows: Array<{ operator_id: number; group_id: number }> = await this.dataSource.query(SQL.groupsOf, [
      operatorIds,
    ]);
    for (const row of rows) groups.set(row.operator_id, [...(groups.get(row.operator_id) ?? []), row.group_id]);
    return groups;
  }

  async setGroups(operatorId: number, groupIds: number[]): Promise<boolean> {
    try {
      await this.dataSource.transaction(async (manager) => {
        await manager.query(SQL.lockForUpdate, [operatorId]);
        await manager.query(SQL.deleteGroups, [operatorId]);
        if (!groupIds.length) return;
        const rows: unknown[] = await manager.query(SQL.insertGroups, [operatorId, groupIds]);
        if (rows.length !== groupIds.length) throw new UnknownGroup();
      });
      return true;
    } catch (e) {
      if (e instanceof UnknownGroup) return false;
      throw e;
    }
  }
}
