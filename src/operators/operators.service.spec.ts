import { jest } from '@jest/globals';
import { BadRequestException, ConflictException, Logger, NotFoundException } from '@nestjs/common';
import * as argon2 from 'argon2';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../config/config';
import { AdminSeeder } from './admin-seeder';
import { Operator } from './operator.entity';
import type { Identity, OperatorRow, OperatorsStore } from './operators.repository';
import { OperatorsService } from './operators.service';

/** The operators table in memory; reads leave the password hash out, as the entity's `select: false` does. */
class MemoryOperators implements OperatorsStore {
  rows: Operator[] = [];
  /** The operators whose row was locked, and in which transaction. */
  locks: Array<{ id: number; manager: EntityManager | undefined }> = [];
  /** The groups table (ids) and operator_groups. */
  groups = new Set([1, 2, 3]);
  memberships = new Map<number, number[]>();
  private nextId = 1;

  list(): Promise<Operator[]> {
    return Promise.resolve(this.rows.map((r) => this.withoutHash(r)));
  }
  count(): Promise<number> {
    return Promise.resolve(this.rows.length);
  }
  activeIdentity(id: number): Promise<Identity | null> {
    const r = this.rows.find((o) => o.id === id && o.active);
    return Promise.resolve(
      r
        ? {
            id: r.id,
            email: r.email,
            name: r.name,
            role: r.role,
            tokenVersion: r.tokenVersion,
            groupIds: this.memberships.get(r.id) ?? [],
          }
        : null,
    );
  }
  insert(operator: OperatorRow): Promise<number | null> {
    if (this.rows.some((r) => r.email === operator.email)) return Promise.resolve(null);
    const row = Object.assign(new Operator(), { ...operator, id: this.nextId++, active: true, tokenVersion: 0 });
    this.rows.push(row);
    return Promise.resolve(row.id);
  }
  async insertFirstAdmin(email: string, passwordHash: string): Promise<boolean> {
    if (this.rows.length) return false;
    return (await this.insert({ name: 'Administrator', email, role: 'admin', passwordHash })) !== null;
  }
  findById(id: number): Promise<Operator | null> {
    const r = this.rows.find((o) => o.id === id);
    return Promise.resolve(r ? this.withoutHash(r) : null);
  }
  findWithHash(email: string): Promise<Operator | null> {
    const r = this.rows.find((o) => o.email === email);
    return Promise.resolve(r ? Object.assign(new Operator(), r) : null);
  }
  countOtherActiveAdmins(id: number): Promise<number> {
    return Promise.resolve(this.rows.filter((o) => o.role === 'admin' && o.active && o.id !== id).length);
  }
  update(id: number, patch: Partial<Operator>): Promise<void> {
    Object.assign(
      this.rows.find((o) => o.id === id)!,
      patch,
    );
    return Promise.resolve();
  }
  lockForUpdate(id: number, manager?: EntityManager): Promise<number | null | undefined> {
    this.locks.push({ id, manager });
    const row = this.rows.find((o) => o.id === id);
    return Promise.resolve(row ? (row.capacity ?? null) : undefined);
  }
  setAvailable(id: number, available: boolean): Promise<boolean | null> {
    const row = this.rows.find((o) => o.id === id);
    if (!row) return Promise.resolve(null);
    const was = row.available ?? false;
    row.available = available;
    return Promise.resolve(was);
  }
  loads(): Promise<Map<number, number>> {
    return Promise.resolve(new Map());
  }

  groupsOf(operatorIds: number[]): Promise<Map<number, number[]>> {
    return Promise.resolve(
      new Map(operatorIds.filter((id) => this.memberships.has(id)).map((id) => [id, this.memberships.get(id)!])),
    );
  }
  setGroups(operatorId: number, groupIds: number[]): Promise<boolean> {
    if (!groupIds.every((g) => this.groups.has(g))) return Promise.resolve(false);
    if (groupIds.length) this.memberships.set(operatorId, [...groupIds].sort());
    else this.memberships.delete(operatorId);
    return Promise.resolve(true);
  }

  private withoutHash(r: Operator): Operator {
    const copy = Object.assign(new Operator(), r);
    delete (copy as Partial<Operator>).passwordHash;
    return copy;
  }
}

describe('OperatorsService rules', () => {
  let store: MemoryOperators;
  let service: OperatorsService;
  let admin: Operator;
  beforeEach(async () => {
    store = new MemoryOperators();
    service = new OperatorsService(store);
    admin = await service.create({ name: 'Ada', email: ' Ada@Example.com ', password: 'correct horse', role: 'admin' });
  });

  it('creates operators with a lower-case email and a hashed password; 409 for a taken email', async () => {
    expect(admin).toMatchObject({ email: 'ada@example.com', role: 'admin', active: true, tokenVersion: 0 });
    expect(await argon2.verify(store.rows[0].passwordHash, 'correct horse')).toBe(true);
    await expect(
      service.create({ name: 'Other', email: 'ADA@example.com', password: 'x'.repeat(12), role: 'operator' }),
    ).rejects.toBeInstanceOf(ConflictException);
  });

  it('keeps an active admin: the last one cannot be deactivated or demoted', async () => {
    await expect(service.update(admin.id, { active: false })).rejects.toBeInstanceOf(ConflictException);
    await expect(service.update(admin.id, { role: 'operator' })).rejects.toBeInstanceOf(ConflictException);
    const second = await service.create({
      name: 'Grace',
      email: 'grace@example.com',
      password: 'p'.repeat(12),
      role: 'admin',
    });
    await expect(service.update(admin.id, { role: 'operator' })).resolves.toMatchObject({ role: 'operator' });
    await expect(service.update(second.id, { active: false })).rejects.toBeInstanceOf(ConflictException);
    await expect(service.update(99, { name: 'Nobody' })).rejects.toBeInstanceOf(NotFoundException);
  });

  it('ends the tokens on deactivation and on a password change, not on a rename or a reactivation', async () => {
    const op = await service.create({
      name: 'Op',
      email: 'op@example.com',
      password: 'p'.repeat(12),
      role: 'operator',
    });
    await expect(service.update(op.id, { name: 'Op 2' })).resolves.toMatchObject({ name: 'Op 2', tokenVersion: 0 });
    await expect(service.update(op.id, { active: false })).resolves.toMatchObject({ active: false, tokenVersion: 1 });
    await expect(service.update(op.id, { active: false })).resolves.toMatchObject({ tokenVersion: 1 });
    await expect(service.update(op.id, { active: true })).resolves.toMatchObject({ active: true, tokenVersion: 1 });
    await expect(service.update(op.id, { password: 'q'.repeat(12) })).resolves.toMatchObject({ tokenVersion: 2 });
    await expect(service.verifyLogin('op@example.com', 'q'.repeat(12))).resolves.toMatchObject({ id: op.id });
  });

  it('logs in an active operator by email in any case, and never hands out the hash', async () => {
    const found = await service.verifyLogin('  ADA@example.COM', 'correct horse');
    expect(found).toMatchObject({ id: admin.id, passwordHash: '' });
    await expect(service.verifyLogin('ada@example.com', 'wrong horse')).resolves.toBeNull();
    await expect(service.verifyLogin('nobody@example.com', 'correct horse')).resolves.toBeNull();
    await service.create({ name: 'Grace', email: 'grace@example.com', password: 'p'.repeat(12), role: 'admin' });
    await service.update(admin.id, { active: false });
    await expect(service.verifyLogin('ada@example.com', 'correct horse')).resolves.toBeNull();
    await expect(service.activeIdentity(admin.id)).resolves.toBeNull();
  });

  it("sets an operator's groups (duplicates once), shows them everywhere, and refuses an unknown group", async () => {
    const op = await service.create({
      name: 'Op',
      email: 'op@example.com',
      password: 'p'.repeat(12),
      role: 'operator',
    });
    expect(op.groupIds).toEqual([]);
    await expect(service.update(op.id, { groupIds: [2, 1, 2] })).resolves.toMatchObject({ groupIds: [1, 2] });
    await expect(service.activeIdentity(op.id)).resolves.toMatchObject({ groupIds: [1, 2] });
    expect((await service.list()).map((o) => o.groupIds)).toEqual([[], [1, 2]]);
    await expect(service.verifyLogin('op@example.com', 'p'.repeat(12))).resolves.toMatchObject({ groupIds: [1, 2] });
    await expect(service.update(op.id, { groupIds: [1, 9] })).rejects.toBeInstanceOf(BadRequestException);
    await expect(service.update(op.id, { groupIds: [1, 9], name: 'Renamed' })).rejects.toBeInstanceOf(
      BadRequestException,
    );
    await expect(service.activeIdentity(op.id)).resolves.toMatchObject({ name: 'Op', groupIds: [1, 2] });
    await expect(service.update(op.id, { groupIds: [] })).resolves.toMatchObject({ groupIds: [], tokenVersion: 0 });
  });

  it('sets a signature trimmed, and clears it with null or a blank one', async () => {
    await expect(service.update(admin.id, { signature: '  Ada\nSupport  ' })).resolves.toMatchObject({
      signature: 'Ada\nSupport',
    });
    await expect(service.update(admin.id, { signature: '   ' })).resolves.toMatchObject({ signature: null });
    await service.update(admin.id, { signature: 'Ada' });
    await expect(service.update(admin.id, { signature: null })).resolves.toMatchObject({ signature: null });
  });

  it("locks an operator's row in the caller's transaction (an assignment's capacity check)", async () => {
    const manager = {} as EntityManager;
    await service.lockForUpdate(manager, admin.id);
    expect(store.locks).toEqual([{ id: admin.id, manager }]);
    expect(store.locks[0].manager).toBe(manager);
  });
});

describe('AdminSeeder', () => {
  const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  afterAll(() => log.mockRestore());
  const config = (password: string | undefined) =>
    ({ workers: true, admin: { email: 'admin@localhost', password } }) as Pick<AppConfig, 'workers' | 'admin'>;

  it('creates the first admin with ADMIN_PASSWORD, once', async () => {
    const store = new MemoryOperators();
    const seeder = new AdminSeeder(store, config('s3cret-passw0rd'));
    await expect(seeder.seed()).resolves.toBe(true);
    await expect(seeder.seed()).resolves.toBe(false);
    expect(store.rows).toHaveLength(1);
    expect(store.rows[0]).toMatchObject({ name: 'Administrator', email: 'admin@localhost', role: 'admin' });
    expect(await argon2.verify(store.rows[0].passwordHash, 's3cret-passw0rd')).toBe(true);
  });

  it('generates a password when none is configured, and prints it once', async () => {
    const store = new MemoryOperators();
    await expect(new AdminSeeder(store, config(undefined)).seed()).resolves.toBe(true);
    const printed = /with password (\S+) \(shown once\)/.exec(String(log.mock.calls.at(-1)?.[0]))?.[1];
    expect(await argon2.verify(store.rows[0].passwordHash, printed!)).toBe(true);
  });

  it('creates nothing when an operator exists', async () => {
    const store = new MemoryOperators();
    await new OperatorsService(store).create({
      name: 'Op',
      email: 'op@example.com',
      password: 'p'.repeat(12),
      role: 'operator',
    });
    await expect(new AdminSeeder(store, config('s3cret-passw0rd')).seed()).resolves.toBe(false);
    expect(store.rows).toHaveLength(1);
  });
});
