import { ForbiddenException, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { MemoryDesk } from '../../test/fakes/memory-desk';
import type { AuthOperator } from '../common/auth.decorators';
import { loadConfig } from '../config/config';
import type { AssignmentMode } from '../config/config-variables';
import type { Operator } from '../operators/operator.entity';
import type { AssignmentCandidate } from './assignment-picker';
import type { AutoAssignmentStore, Claimed, ScopeState } from './auto-assignment.repository';
import { ASSIGN_BATCH, type AssignerOperators, AutoAssignmentService } from './auto-assignment.service';
import { RequestLifecycleService } from './request-lifecycle.service';

/** Groups, availability and capacities in memory, over MemoryDesk's requests and operators. */
class MemoryAssignment implements AutoAssignmentStore {
  groups = new Map<number, { mode: AssignmentMode; pointer: number | null; reassign: boolean }>();
  defaultPointer: number | null = null;
  available = new Set<number>();
  lastAuto = new Map<number, number>();
  /** Requests claimed per batch (what a batch locked). */
  claims: number[][] = [];
  private clock = 0;

  constructor(private readonly desk: MemoryDesk) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.desk.transaction(work);
  }
  enabledGroups(): Promise<number[]> {
    return Promise.resolve([...this.groups].filter(([, g]) => g.mode !== 'off').map(([id]) => id));
  }
  lockScope(_m: EntityManager, groupId: number | null): Promise<ScopeState | null> {
    if (groupId === null) return Promise.resolve({ mode: null, pointer: this.defaultPointer });
    const g = this.groups.get(groupId);
    return Promise.resolve(g ? { mode: g.mode, pointer: g.pointer } : null);
  }
  lockCandidates(_m: EntityManager, groupId: number | null): Promise<AssignmentCandidate[]> {
    const candidates = [...this.desk.operators]
      .filter(([id, o]) => o.active && this.available.has(id))
      .filter(([, o]) => (groupId === null ? !o.groupIds?.length : o.groupIds?.includes(groupId)))
      .map(([id, o]) => ({
        id,
        name: o.name,
        capacity: o.capacity ?? null,
        load: [...this.desk.requests.values()].filter((r) => r.operatorId === id && r.status === 'in_progress').length,
        lastAutoAssignedAt: this.lastAuto.has(id) ? new Date(this.lastAuto.get(id)!) : null,
      }));
    return Promise.resolve(candidates.sort((a, b) => a.id - b.id));
  }
  claimUnassigned(_m: EntityManager, groupId: number | null, limit: number): Promise<Claimed[]> {
    const claimed = [...this.desk.requests.values()]
      .filter((r) => r.groupId === groupId && r.status === 'new' && r.operatorId === null)
      .sort((a, b) => a.id - b.id)
      .slice(0, limit);
    this.claims.push(claimed.map((r) => r.id));
    return Promise.resolve(
      claimed.map((r) => ({
        id: r.id,
        subject: r.subject,
        assignedBefore: this.desk.events.some(
          (e) => e.requestId === r.id && ['assigned', 'reassigned', 'unassigned'].includes(e.type),
        ),
      })),
    );
  }
  savePointer(_m: EntityManager, groupId: number | null, operatorId: number): Promise<void> {
    if (groupId === null) this.defaultPointer = operatorId;
    else this.groups.get(groupId)!.pointer = operatorId;
    return Promise.resolve();
  }
  markAutoAssigned(_m: EntityManager, operatorId: number): Promise<void> {
    this.lastAuto.set(operatorId, ++this.clock);
    return Promise.resolve();
  }
  releasable(_m: EntityManager, operatorId: number, includeNoGroup: boolean): Promise<number[]> {
    return Promise.resolve(
      [...this.desk.requests.values()]
        .filter((r) => r.operatorId === operatorId && r.status === 'in_progress')
        .filter((r) => (r.groupId === null ? includeNoGroup : this.groups.get(r.groupId)?.reassign))
        .map((r) => r.id),
    );
  }
}

const ADMIN: AuthOperator = { id: 1, email: 'ada@desk.example', name: 'Ada', role: 'admin', groupIds: [] };
const operator = (id: number, name: string): AuthOperator => ({
  id,
  email: `${name}@desk.example`,
  name,
  role: 'operator',
  groupIds: [],
});

describe('AutoAssignmentService rules', () => {
  let desk: MemoryDesk;
  let store: MemoryAssignment;
  let mails: Array<{ requestId: number; operatorName?: string }>;

  function service(env: Record<string, string> = {}): AutoAssignmentService {
    const config = loadConfig(env);
    const lifecycle = new RequestLifecycleService(config, desk, desk, desk.operatorsService, desk.webhooks);
    lifecycle.useAutoReplies({
      sendAutoReply: (_m, requestId, _event, vars) => {
        mails.push({ requestId, operatorName: vars?.operatorName });
        return Promise.resolve(true);
      },
    });
    const operators: AssignerOperators = {
      setAvailable: (_m: EntityManager, id: number, available: boolean) => {
        if (!desk.operators.has(id)) return Promise.resolve(null);
        const was = store.available.has(id);
        if (available) store.available.add(id);
        else store.available.delete(id);
        return Promise.resolve(was);
      },
      get: (id: number) => Promise.resolve({ id, available: store.available.has(id) } as Operator),
      onCapacityChange: () => undefined,
    };
    return new AutoAssignmentService(
      config,
      store,
      lifecycle,
      operators,
      { onRequestOpened: () => undefined },
      { onAssignmentChange: () => undefined },
    );
  }
  const holder = (id: number) => desk.requests.get(id)!.operatorId;

  beforeEach(() => {
    desk = new MemoryDesk();
    store = new MemoryAssignment(desk);
    mails = [];
    desk.addOperator(1, 'Ada', 'admin');
    for (const [id, name] of [
      [2, 'Ben'],
      [3, 'Cat'],
      [4, 'Dan'],
    ] as const)
      desk.addOperator(id, name, 'operator', true, [7]);
    desk.addOperator(5, 'Eve', 'operator', true, [8]);
    store.groups.set(7, { mode: 'round_robin', pointer: null, reassign: false });
    store.groups.set(8, { mode: 'off', pointer: null, reassign: false });
  });

  it("gives a group's new requests in turn to its available members, keeping the pointer between batches", async () => {
    for (const id of [10, 11, 12]) desk.addRequest({ id, groupId: 7 });
    desk.addRequest({ id: 13, groupId: 8 });
    desk.addRequest({ id: 14 });
    store.available = new Set([2, 4, 5, 1]);
    const s = service();
    await expect(s.assignBatch(7)).resolves.toBe(3);
    expect([10, 11, 12].map(holder)).toEqual([2, 4, 2]);
    expect(store.groups.get(7)!.pointer).toBe(2);
    desk.addRequest({ id: 15, groupId: 7 });
    await s.assignBatch(7);
    expect(holder(15)).toBe(4);
    // Group 8 is off; the requests in no group follow AUTO_ASSIGNMENT (off by default).
    await expect(s.assignBatch(8)).resolves.toBe(0);
    await expect(s.assignBatch(null)).resolves.toBe(0);
    expect([holder(13), holder(14)]).toEqual([null, null]);
    expect(mails.map((m) => m.operatorName)).toEqual(['Ben', 'Dan', 'Ben', 'Dan']);
  });

  it('assigns the requests in no group with AUTO_ASSIGNMENT, among the available operators in no group', async () => {
    desk.addRequest({ id: 10 });
    desk.addRequest({ id: 11 });
    store.available = new Set([1, 2]);
    await expect(service({ AUTO_ASSIGNMENT: 'least_loaded' }).assignBatch(null)).resolves.toBe(2);
    expect([holder(10), holder(11)]).toEqual([1, 1]);
    expect(store.defaultPointer).toBe(1);
  });

  it('claims only as many requests as there is room for, and none when everyone is full', async () => {
    for (let id = 10; id < 16; id++) desk.addRequest({ id, groupId: 7 });
    store.available = new Set([2, 3]);
    desk.operators.get(3)!.capacity = 1;
    const s = service({ OPERATOR_MAX_OPEN: '2' });
    await expect(s.assignBatch(7)).resolves.toBe(3);
    expect(store.claims).toEqual([[10, 11, 12]]);
    await expect(s.assignBatch(7)).resolves.toBe(0);
    expect(store.claims).toHaveLength(1);
    expect([13, 14, 15].map(holder)).toEqual([null, null, null]);
  });

  it('assigns batch after batch in one round until nothing is left', async () => {
    const count = ASSIGN_BATCH + 5;
    for (let id = 100; id < 100 + count; id++) desk.addRequest({ id, groupId: 7 });
    store.available = new Set([2, 3, 4]);
    const s = service();
    await expect(s.runOnce()).resolves.toBe(count);
    expect(store.claims.map((c) => c.length)).toEqual([ASSIGN_BATCH, 5]);
  });

  it('hands back the requests of an operator who becomes unavailable where the group asks, and only then', async () => {
    store.groups.get(7)!.reassign = true;
    desk.addRequest({ id: 10, groupId: 7, status: 'in_progress', operatorId: 2 });
    desk.addRequest({ id: 11, groupId: 8, status: 'in_progress', operatorId: 2 });
    desk.addRequest({ id: 12, status: 'in_progress', operatorId: 2 });
    store.available = new Set([2, 3]);
    const s = service();
    await expect(s.setAvailability(operator(3, 'Cat'), 2, false)).rejects.toBeInstanceOf(ForbiddenException);
    await expect(s.setAvailability(ADMIN, 99, false)).rejects.toBeInstanceOf(NotFoundException);
    await s.setAvailability(operator(2, 'Ben'), 2, false);
    expect([10, 11, 12].map((id) => desk.requests.get(id)!.status)).toEqual(['new', 'in_progress', 'in_progress']);
    expect(desk.eventsOf(10, 'unassigned')).toHaveLength(1);
    // Assigned again to Cat: a reassignment, so no mail without REASSIGN_NOTIFY.
    await s.assignBatch(7);
    expect(holder(10)).toBe(3);
    expect(mails).toEqual([]);
    // Unavailable again changes nothing: only the change from available hands back.
    await s.setAvailability(operator(2, 'Ben'), 2, false);
    expect(desk.eventsOf(10, 'unassigned')).toHaveLength(1);
  });

  it('hands back the requests in no group with AUTO_REASSIGN_WHEN_UNAVAILABLE', async () => {
    desk.addRequest({ id: 12, status: 'in_progress', operatorId: 2 });
    store.available = new Set([2]);
    await service({ AUTO_REASSIGN_WHEN_UNAVAILABLE: 'true' }).setAvailability(ADMIN, 2, false);
    expect(desk.requests.get(12)).toMatchObject({ status: 'new', operatorId: null });
  });
});
