import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import * as argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { DataSource, Not, Repository } from 'typeorm';
import { preparedQuery } from '../database/prepared';
import { Operator, OperatorRole } from './operator.entity';

/** Who an access token's operator is now. */
export type Identity = Pick<Operator, 'id' | 'email' | 'name' | 'role' | 'tokenVersion'>;

/** What `create` needs. */
export interface NewOperator {
  name: string;
  email: string;
  password: string;
  role: OperatorRole;
}

/** What `update` may change. */
export interface OperatorChanges {
  name?: string;
  role?: OperatorRole;
  active?: boolean;
  password?: string;
}

/** The operator lookup of every authenticated call (also run by the queue bench's SQL-alone ceiling). */
export const ACTIVE_IDENTITY_SQL = `SELECT id, email, name, role, token_version FROM operators WHERE id = $1 AND active`;

/**
 * Operators and their credentials. Operators are deactivated, never deleted; deactivation and a
 * password change bump `token_version`, which ends every token issued before.
 */
@Injectable()
export class OperatorsService {
  private readonly repo: Repository<Operator>;
  /** Compared against when the email is unknown, so a login takes as long either way. */
  private dummyHash?: Promise<string>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.repo = dataSource.getRepository(Operator);
  }

  /** Every operator, active or not, by id. */
  list(): Promise<Operator[]> {
    return this.repo.find({ order: { id: 'ASC' } });
  }

  /** How many operators exist (any state). */
  count(): Promise<number> {
    return this.repo.count();
  }

  /**
   * The active operator with this id (deactivated ones count as unknown), or null: what the auth
   * guard checks on every call (identity and token version) and who an admin assigns to. In
   * one plain statement: the entity query builder cost more CPU than the rest of a small GET. Not
   * cached: a deactivation or password change ends the operator's tokens at once, on every instance
   * (a 2-second cache was measured: +6% requests/s, not worth the delay).
   */
  async activeIdentity(id: number): Promise<Identity | null> {
    const rows: Array<Pick<Operator, 'id' | 'email' | 'name' | 'role'> & { token_version: number }> =
      await preparedQuery(this.dataSource, ACTIVE_IDENTITY_SQL, [id]);
    const row = rows[0];
    return row
      ? { id: row.id, email: row.email, name: row.name, role: row.role, tokenVersion: row.token_version }
      : null;
  }

  /**
   * Creates an operator; 409 when the (lower-cased) email is taken. ON CONFLICT instead of catching
   * the unique violation, so no failed INSERT (with its hash parameter) reaches the query log.
   */
  async create(input: NewOperator): Promise<Operator> {
    const passwordHash = await argon2.hash(input.password);
    const result = await this.repo
      .createQueryBuilder()
      .insert()
      .into(Operator)
      .values({
        name: input.name,
        email: input.email.trim().toLowerCase(),
        role: input.role,
        passwordHash,
        active: true,
        tokenVersion: 0,
      })
      .orIgnore()
      .returning(['id'])
      .execute();
    const id = (result.raw as Array<{ id: number }>)[0]?.id;
    if (id === undefined) throw new ConflictException('an operator with this email exists');
    return this.repo.findOneByOrFail({ id });
  }

  /**
   * Changes name, role, active flag or password; 404 for an unknown id, 409 where the change would
   * leave no active admin.
   */
  async update(id: number, changes: OperatorChanges): Promise<Operator> {
    const current = await this.repo.findOneBy({ id });
    if (!current) throw new NotFoundException(`operator ${id} does not exist`);
    const losesAdmin =
      current.role === 'admin' &&
      current.active &&
      (changes.active === false || (changes.role !== undefined && changes.role !== 'admin'));
    if (losesAdmin && (await this.repo.countBy({ role: 'admin', active: true, id: Not(id) })) === 0) {
      throw new ConflictException('the last active admin cannot be deactivated or demoted');
    }
    const patch: Partial<Operator> = {};
    let endTokens = false;
    if (changes.name !== undefined) patch.name = changes.name;
    if (changes.role !== undefined) patch.role = changes.role;
    if (changes.active !== undefined) {
      patch.active = changes.active;
      if (current.active && !changes.active) endTokens = true;
    }
    if (changes.password !== undefined) {
      patch.passwordHash = await argon2.hash(changes.password);
      endTokens = true;
    }
    if (endTokens) patch.tokenVersion = current.tokenVersion + 1;
    if (Object.keys(patch).length) await this.repo.update({ id }, patch);
    return this.repo.findOneByOrFail({ id });
  }

  /** The active operator with these credentials, or null (unknown email, wrong password, deactivated). */
  async verifyLogin(email: string, password: string): Promise<Operator | null> {
    const found = await this.repo
      .createQueryBuilder('o')
      .addSelect('o.passwordHash')
      .where('o.email = :email', { email: email.trim().toLowerCase() })
      .getOne();
    this.dummyHash ??= argon2.hash(randomBytes(16).toString('hex'));
    const ok = await argon2.verify(found?.passwordHash ?? (await this.dummyHash), password).catch(() => false);
    if (!found || !ok || !found.active) return null;
    found.passwordHash = ''; // the hash never leaves this service
    return found;
  }
}
