import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import * as argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Operator, OperatorRole } from './operator.entity';
import { type Identity, OperatorsRepository, type OperatorsStore } from './operators.repository';

export type { Identity } from './operators.repository';

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
  /** The operator's groups, all of them (an empty list: no group, every request seen). */
  groupIds?: number[];
  /** Ends the mail of the operator's messages; null or blank: none. */
  signature?: string | null;
  /** Most requests in progress they may hold; null: OPERATOR_MAX_OPEN; 0: unlimited. */
  capacity?: number | null;
}

/**
 * Operators and their credentials. Operators are deactivated, never deleted; deactivation and a
 * password change bump `token_version`, which ends every token issued before.
 */
@Injectable()
export class OperatorsService {
  /** Compared against when the email is unknown, so a login takes as long either way. */
  private dummyHash?: Promise<string>;
  private readonly capacityListeners: Array<() => void> = [];

  constructor(@Inject(OperatorsRepository) private readonly operators: OperatorsStore) {}

  /** Every operator, active or not, by id, with their groups and how many requests they hold in progress. */
  async list(): Promise<Operator[]> {
    const operators = await this.operators.list();
    const groups = await this.operators.groupsOf(operators.map((o) => o.id));
    const loads = await this.operators.loads();
    for (const o of operators) {
      o.groupIds = groups.get(o.id) ?? [];
      o.load = loads.get(o.id) ?? 0;
    }
    return operators;
  }

  /**
   * Called after an operator's capacity changed on this instance: the automatic assigner
   * (requests/auto-assignment.service.ts, which depends on this module) looks for work at once.
   */
  onCapacityChange(listener: () => void): void {
    this.capacityListeners.push(listener);
  }

  /** How many operators exist (any state). */
  count(): Promise<number> {
    return this.operators.count();
  }

  /**
   * The active operator with this id (deactivated ones count as unknown), or null: what the auth
   * guard checks on every call (identity and token version) and who an admin assigns to. Not
   * cached: a deactivation or password change ends the operator's tokens at once, on every instance
   * (a 2-second cache was measured: +6% requests/s, not worth the delay).
   */
  activeIdentity(id: number): Promise<Identity | null> {
    return this.operators.activeIdentity(id);
  }

  /**
   * Locks the operator's row for the caller's transaction: the capacity check of an assignment
   * (RequestLifecycleService) counts what the operator holds under it, so concurrent assignments to
   * one operator count one after the other.
   */
  lockForUpdate(manager: EntityManager, id: number): Promise<number | null | undefined> {
    return this.operators.lockForUpdate(id, manager);
  }

  /**
   * Sets the operator's availability in the caller's transaction, under their row lock; the value
   * before, null when there is no such operator. (AutoAssignmentService, which also hands their
   * requests back when they become unavailable.)
   */
  setAvailable(manager: EntityManager, id: number, available: boolean): Promise<boolean | null> {
    return this.operators.setAvailable(id, available, manager);
  }

  /** Creates an operator; 409 when the (lower-cased) email is taken. */
  async create(input: NewOperator): Promise<Operator> {
    const passwordHash = await argon2.hash(input.password);
    const id = await this.operators.insert({
      name: input.name,
      email: input.email.trim().toLowerCase(),
      role: input.role,
      passwordHash,
    });
    if (id === null) throw new ConflictException('an operator with this email exists');
    return this.found(id);
  }

  /**
   * Changes name, role, active flag, password, groups, signature or capacity; 404 for an unknown id, 409 where the
   * change would leave no active admin, 400 for a group id that names no group (then nothing
   * changes). A change of groups applies from the operator's next call (the auth guard reads them).
   */
  async update(id: number, changes: OperatorChanges): Promise<Operator> {
    const current = await this.operators.findById(id);
    if (!current) throw new NotFoundException(`operator ${id} does not exist`);
    const losesAdmin =
      current.role === 'admin' &&
      current.active &&
      (changes.active === false || (changes.role !== undefined && changes.role !== 'admin'));
    if (losesAdmin && (await this.operators.countOtherActiveAdmins(id)) === 0) {
      throw new ConflictException('the last active admin cannot be deactivated or demoted');
    }
    const patch: Partial<Operator> = {};
    let endTokens = false;
    if (changes.name !== undefined) patch.name = changes.name;
    if (changes.role !== undefined) patch.role = changes.role;
    if (changes.signature !== undefined) patch.signature = changes.signature?.trim() || null;
    if (changes.capacity !== undefined) patch.capacity = changes.capacity;
    if (changes.active !== undefined) {
      patch.active = changes.active;
      if (current.active && !changes.active) endTokens = true;
    }
    if (changes.password !== undefined) {
      patch.passwordHash = await argon2.hash(changes.password);
      endTokens = true;
    }
    if (endTokens) patch.tokenVersion = current.tokenVersion + 1;
    if (changes.groupIds !== undefined) {
      const groupIds = [...new Set(changes.groupIds)];
      if (!(await this.operators.setGroups(id, groupIds))) {
        throw new BadRequestException('groupIds names a group that does not exist');
      }
    }
    if (Object.keys(patch).length) await this.operators.update(id, patch);
    if (changes.capacity !== undefined) for (const listener of this.capacityListeners) listener();
    return this.found(id);
  }

  /** The active operator with these credentials, or null (unknown email, wrong password, deactivated). */
  async verifyLogin(email: string, password: string): Promise<Operator | null> {
    const found = await this.operators.findWithHash(email.trim().toLowerCase());
    this.dummyHash ??= argon2.hash(randomBytes(16).toString('hex'));
    const ok = await argon2.verify(found?.passwordHash ?? (await this.dummyHash), password).catch(() => false);
    if (!found || !ok || !found.active) return null;
    found.passwordHash = ''; // the hash never leaves this service
    found.groupIds = (await this.operators.groupsOf([found.id])).get(found.id) ?? [];
    return found;
  }

  /** The operator with this id, with their groups and load; 404 when unknown. */
  async get(id: number): Promise<Operator> {
    if (!(await this.operators.findById(id))) throw new NotFoundException(`operator ${id} does not exist`);
    return this.found(id);
  }

  /** The operator with this id, which exists (it was just written), with their groups and load. */
  private async found(id: number): Promise<Operator> {
    const operator = await this.operators.findById(id);
    if (!operator) throw new Error(`operator ${id} vanished`);
    operator.groupIds = (await this.operators.groupsOf([id])).get(id) ?? [];
    operator.load = (await this.operators.loads()).get(id) ?? 0;
    return operator;
  }
}
