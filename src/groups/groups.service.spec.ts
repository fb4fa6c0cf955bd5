import { BadRequestException, ConflictException, NotFoundException } from '@nestjs/common';
import type { AssignmentSettings, Group, GroupsStore } from './groups.repository';
import { GroupsService } from './groups.service';

/** The groups table in memory: names unique regardless of case; `used` are groups a mailbox or request uses. */
class MemoryGroups implements GroupsStore {
  rows: Group[] = [];
  used = new Set<number>();
  private nextId = 1;

  list(): Promise<Group[]> {
    return Promise.resolve(
      [...this.rows].sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()) || a.id - b.id),
    );
  }
  findById(id: number): Promise<Group | null> {
    return Promise.resolve(this.rows.find((g) => g.id === id) ?? null);
  }
  insert(name: string): Promise<Group | null> {
    if (this.taken(name)) return Promise.resolve(null);
    const group: Group = { id: this.nextId++, name, assignment: 'off', reassignWhenUnavailable: false };
    this.rows.push(group);
    return Promise.resolve(group);
  }
  rename(id: number, name: string): Promise<Group | null> {
    const group = this.rows.find((g) => g.id === id);
    if (!group || this.taken(name, id)) return Promise.resolve(null);
    group.name = name;
    return Promise.resolve({ ...group });
  }
  setAssignment(id: number, settings: AssignmentSettings): Promise<Group | null> {
    const group = this.rows.find((g) => g.id === id);
    if (!group) return Promise.resolve(null);
    Object.assign(group, Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)));
    return Promise.resolve({ ...group });
  }
  deleteUnused(id: number): Promise<boolean> {
    if (this.used.has(id) || !this.rows.some((g) => g.id === id)) return Promise.resolve(false);
    this.rows = this.rows.filter((g) => g.id !== id);
    return Promise.resolve(true);
  }
  private taken(name: string, except?: number): boolean {
    return this.rows.some((g) => g.id !== except && g.name.toLowerCase() === name.toLowerCase());
  }
}

describe('GroupsService rules', () => {
  let store: MemoryGroups;
  let service: GroupsService;
  beforeEach(() => {
    store = new MemoryGroups();
    service = new GroupsService(store);
  });

  it('creates groups, lists them by name, and refuses a name taken in any case with 409', async () => {
    await expect(service.create('Support')).resolves.toMatchObject({ id: 1, name: 'Support' });
    await expect(service.create('billing')).resolves.toMatchObject({ id: 2, name: 'billing' });
    await expect(service.create('SUPPORT')).rejects.toBeInstanceOf(ConflictException);
    await expect(service.list()).resolves.toMatchObject([
      { id: 2, name: 'billing' },
      { id: 1, name: 'Support' },
    ]);
  });

  it('renames (its own name in another case too); 409 for a name another group has, 404 for an unknown group', async () => {
    await service.create('Support');
    await service.create('Billing');
    await expect(service.rename(1, 'SUPPORT')).resolves.toMatchObject({ id: 1, name: 'SUPPORT' });
    await expect(service.rename(1, 'billing')).rejects.toBeInstanceOf(ConflictException);
    await expect(service.rename(9, 'Other')).rejects.toBeInstanceOf(NotFoundException);
  });

  it('deletes an unused group; 409 while a mailbox or a request uses it, 404 for an unknown one', async () => {
    await service.create('Support');
    await service.create('Billing');
    store.used.add(2);
    await expect(service.remove(2)).rejects.toBeInstanceOf(ConflictException);
    await expect(service.remove(1)).resolves.toBeUndefined();
    await expect(service.remove(1)).rejects.toBeInstanceOf(NotFoundException);
    await expect(service.list()).resolves.toMatchObject([{ id: 2, name: 'Billing' }]);
  });

  it('sets the automatic assignment (alone or with a new name), tells the assigner, and refuses an empty change', async () => {
    await service.create('Support');
    let told = 0;
    service.onAssignmentChange(() => told++);
    await expect(service.update(1, { assignment: 'round_robin' })).resolves.toEqual({
      id: 1,
      name: 'Support',
      assignment: 'round_robin',
      reassignWhenUnavailable: false,
    });
    await expect(service.update(1, { name: 'Help', reassignWhenUnavailable: true })).resolves.toEqual({
      id: 1,
      name: 'Help',
      assignment: 'round_robin',
      reassignWhenUnavailable: true,
    });
    expect(told).toBe(2);
    await expect(service.update(1, { name: 'Other' })).resolves.toMatchObject({ name: 'Other' });
    expect(told).toBe(2);
    await expect(service.update(1, {})).rejects.toBeInstanceOf(BadRequestException);
    await expect(service.update(9, { assignment: 'least_loaded' })).rejects.toBeInstanceOf(NotFoundException);
  });
});
