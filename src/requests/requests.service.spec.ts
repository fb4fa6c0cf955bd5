import { jest } from '@jest/globals';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../config/config';
import { parseBusinessHours } from '../sla/business-hours';
import { Customer } from './customer.entity';
import type { RequestEvent } from './request-event.entity';
import type { RequestStatus, ServiceRequest } from './request.entity';
import type { DueDateChanges, NewEvent, RequestLock, RequestRoute, SlaTarget } from './requests.repository';
import { type RequestRulesStore, RequestsService } from './requests.service';
import type { Priority } from './tags';

interface Row {
  id: number;
  customerId: number;
  subject: string;
  status: RequestStatus;
  operatorId: number | null;
  previousRequestId: number | null;
  /** null: the default mailbox. */
  mailboxId: number | null;
  groupId: number | null;
  createdAt: Date;
  firstResponseDueAt: Date | null;
  resolutionDueAt: Date | null;
  rating: number | null;
  priority: Priority;
  tags: string[];
}

/** The requests and request_events tables in memory: the rules tested without a database. */
class MemoryRequests implements RequestRulesStore {
  rows: Row[] = [];
  events: Array<NewEvent & { requestId: number }> = [];
  /** Inserts that lose to a concurrent one (which opens its own request first), counted down. */
  losingInserts = 0;
  /** Breaches markBreaches finds, by target; the batch sizes it was asked for. */
  breaches: Record<SlaTarget, number> = { first_response: 0, resolution: 0 };
  batches: number[] = [];
  now = new Date('2026-03-02T10:00:00Z');
  private nextId = 1;

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return work({} as EntityManager);
  }
  findById(id: number): Promise<ServiceRequest | null> {
    const row = this.rows.find((r) => r.id === id);
    return Promise.resolve(row ? ({ ...row } as unknown as ServiceRequest) : null);
  }
  listEvents(requestId: number): Promise<RequestEvent[]> {
    return Promise.resolve(this.events.filter((e) => e.requestId === requestId) as unknown as RequestEvent[]);
  }
  insertEvent(requestId: number, event: NewEvent): Promise<void> {
    this.events.push({ requestId, ...event });
    return Promise.resolve();
  }
  upsertCustomer(email: string, name: string | null): Promise<Customer> {
    return Promise.resolve(Object.assign(new Customer(), { id: 1, email, name, blocked: false }));
  }
  findOpenForCustomer(customerId: number, _manager?: EntityManager, mailboxId?: number | null): Promise<number | null> {
    return Promise.resolve(
      this.rows.find(
        (r) =>
          r.customerId === customerId &&
          r.status !== 'closed' &&
          (mailboxId === undefined || r.mailboxId === mailboxId),
      )?.id ?? null,
    );
  }
  insertOpen(
    customerId: number,
    subject: string,
    previousRequestId: number | null,
    _manager?: EntityManager,
    route?: RequestRoute,
    priority: Priority = 'normal',
  ): Promise<{ id: number; createdAt: Date } | null> {
    const mailboxId = route?.mailboxId ?? null;
    if (this.losingInserts > 0) {
      this.losingInserts--;
      this.open(customerId, 'the concurrent mail', null, { mailboxId, groupId: null });
      return Promise.resolve(null);
    }
    // The unique index: one open request per customer and mailbox.
    if (this.rows.some((r) => r.customerId === customerId && r.status !== 'closed' && r.mailboxId === mailboxId))
      return Promise.resolve(null);
    const row = this.open(customerId, subject, previousRequestId, { mailboxId, groupId: route?.groupId ?? null });
    row.priority = priority;
    return Promise.resolve({ id: row.id, createdAt: row.createdAt });
  }
  writeDueDates(requestId: number, firstResponseDueAt: Date | null, resolutionDueAt: Date | null): Promise<void> {
    Object.assign(this.row(requestId)!, { firstResponseDueAt, resolutionDueAt });
    return Promise.resolve();
  }
  lockForUpdate(requestId: number): Promise<RequestLock | null> {
    const row = this.row(requestId);
    return Promise.resolve(row ? { status: row.status, operatorId: row.operatorId } : null);
  }
  overrideDueDates(requestId: number, changes: DueDateChanges): Promise<void> {
    if (changes.firstResponseDueAt === undefined && changes.resolutionDueAt === undefined)
      throw new Error('nothing to change');
    Object.assign(this.row(requestId)!, changes);
    return Promise.resolve();
  }
  markBreaches(target: SlaTarget, batch: number): Promise<number> {
    this.batches.push(batch);
    return Promise.resolve(this.breaches[target]);
  }
  rate(requestId: number, rating: number): Promise<{ previous: number | null } | null> {
    const row = this.row(requestId);
    if (row?.status !== 'closed' || row.rating === rating) return Promise.resolve(null);
    const previous = row.rating;
    row.rating = rating;
    return Promise.resolve({ previous });
  }
  setPriority(requestId: number, priority: Priority): Promise<{ previous: Priority; createdAt: Date } | null> {
    const row = this.row(requestId);
    if (!row) return Promise.resolve(null);
    const previous = row.priority;
    row.priority = priority;
    return Promise.resolve({ previous, createdAt: row.createdAt });
  }
  setTags(requestId: number, tags: string[]): Promise<{ previous: string[] } | null> {
    const row = this.row(requestId);
    if (!row) return Promise.resolve(null);
    const previous = row.tags;
    row.tags = tags;
    return Promise.resolve({ previous });
  }
  hasDueOverride(requestId: number): Promise<boolean> {
    return Promise.resolve(this.events.some((e) => e.requestId === requestId && e.type === 'sla_changed'));
  }
  tagCounts(): Promise<Array<{ tag: string; count: number }>> {
    return Promise.resolve([]);
  }
  isClosed(requestId: number): Promise<boolean> {
    return Promise.resolve(this.row(requestId)?.status === 'closed');
  }
  followMerges(requestIds: number[]): Promise<Map<number, number>> {
    return Promise.resolve(new Map(requestIds.filter((id) => this.row(id)).map((id) => [id, id])));
  }
  findForParticipant(requestId: number): Promise<{ id: number; status: RequestStatus; customerId: number } | null> {
    const row = this.row(requestId);
    return Promise.resolve(row ? { id: row.id, status: row.status, customerId: row.customerId } : null);
  }

  row(id: number): Row | undefined {
    return this.rows.find((r) => r.id === id);
  }
  private open(
    customerId: number,
    subject: string,
    previousRequestId: number | null,
    route: RequestRoute = { mailboxId: null, groupId: null },
  ): Row {
    const row: Row = {
      id: this.nextId++,
      customerId,
      subject,
      status: 'new',
      operatorId: null,
      previousRequestId,
      ...route,
      createdAt: this.now,
      firstResponseDueAt: null,
      resolutionDueAt: null,
      rating: null,
      priority: 'normal',
      tags: [],
    };
    this.rows.push(row);
    return row;
  }
}

const manager = {} as EntityManager;

function sla(
  firstResponseMinutes: number,
  resolutionMinutes: number,
  byPriority?: AppConfig['sla']['byPriority'],
): Pick<AppConfig, 'sla'> {
  return {
    sla: {
      firstResponseMinutes,
      resolutionMinutes,
      byPriority,
      businessHours: parseBusinessHours('Mon-Fri 09:00-17:00'),
      timeZone: 'UTC',
      checkSeconds: 60,
    },
  };
}

describe('RequestsService rules', () => {
  let store: MemoryRequests;
  let service: RequestsService;
  beforeEach(() => {
    store = new MemoryRequests();
    service = new RequestsService(store, sla(120, 16 * 60));
  });

  describe('SLA due dates', () => {
    it('counts the targets in business hours: Friday 16:00 plus 2 hours is Monday 10:00', () => {
      const due = service.dueDates(new Date('2026-02-27T16:00:00Z'));
      expect(due.firstResponseDueAt?.toISOString()).toBe('2026-03-02T10:00:00.000Z');
      // Two business days of 8 hours: Friday's last hour, Monday's 8, Tuesday's first 7.
      expect(due.resolutionDueAt?.toISOString()).toBe('2026-03-03T16:00:00.000Z');
    });

    it('sets no due date for a target of 0 minutes', () => {
      service = new RequestsService(store, sla(0, 60));
      const due = service.dueDates(new Date('2026-03-02T10:00:00Z'));
      expect(due.firstResponseDueAt).toBeNull();
      expect(due.resolutionDueAt?.toISOString()).toBe('2026-03-02T11:00:00.000Z');
    });

    it('gives a new request its due dates, counted from its creation', async () => {
      const { id, created } = await service.openRequestFor(manager, 7, 'Printer', null);
      expect(created).toBe(true);
      expect(store.row(id)).toMatchObject({
        firstResponseDueAt: new Date('2026-03-02T12:00:00Z'),
        resolutionDueAt: new Date('2026-03-04T10:00:00Z'),
      });
    });

    it("uses the priority's own targets where configured, the default ones elsewhere", () => {
      service = new RequestsService(store, sla(120, 16 * 60, { urgent: { firstResponseMinutes: 30 }, low: {} }));
      const monday = new Date('2026-03-02T10:00:00Z');
      expect(service.dueDates(monday, 'urgent')).toEqual({
        firstResponseDueAt: new Date('2026-03-02T10:30:00Z'),
        resolutionDueAt: new Date('2026-03-04T10:00:00Z'),
      });
      expect(service.dueDates(monday, 'low')).toEqual(service.dueDates(monday));
      expect(service.dueDates(monday, 'high')).toEqual(service.dueDates(monday, 'normal'));
    });

    it('recomputes the due dates from creation when the priority changes, and records from and to', async () => {
      service = new RequestsService(
        store,
        sla(120, 16 * 60, { urgent: { firstResponseMinutes: 30, resolutionMinutes: 240 } }),
      );
      const { id } = await service.openRequestFor(manager, 7, 'Printer', null);
      store.now = new Date('2026-03-02T15:00:00Z');
      await expect(service.setPriority(id, 'urgent', 3)).resolves.toEqual({ changed: true });
      expect(store.row(id)).toMatchObject({
        priority: 'urgent',
        firstResponseDueAt: new Date('2026-03-02T10:30:00Z'),
        resolutionDueAt: new Date('2026-03-02T14:00:00Z'),
      });
      expect(store.events).toEqual([
        {
          requestId: id,
          type: 'priority_changed',
          actor: 'operator',
          operatorId: 3,
          data: { from: 'normal', to: 'urgent' },
        },
      ]);
      await expect(service.setPriority(id, 'urgent', 3)).resolves.toEqual({ changed: false });
      expect(store.events).toHaveLength(1);
      await expect(service.setPriority(999, 'high', 3)).resolves.toBeNull();
    });

    it("keeps an admin's due dates when the priority changes", async () => {
      service = new RequestsService(store, sla(120, 16 * 60, { urgent: { firstResponseMinutes: 30 } }));
      const { id } = await service.openRequestFor(manager, 7, 'Printer', null);
      const later = new Date('2026-03-10T09:00:00Z');
      await service.setDueDates(id, { firstResponseDueAt: later }, 1);
      await service.setPriority(id, 'urgent', 3);
      expect(store.row(id)?.firstResponseDueAt).toEqual(later);
      expect(store.events.at(-1)?.data).toEqual({ from: 'normal', to: 'urgent', dueDatesKept: true });
    });

    it('records the tags added and removed, and nothing when they are the same', async () => {
      const { id } = await service.openRequestFor(manager, 7, 'Printer', null);
      await service.setTags(id, ['billing', 'vip'], 3);
      await service.setTags(id, ['billing', 'refund'], 3);
      await service.setTags(id, ['billing', 'refund'], 3);
      expect(store.events.map((e) => e.data)).toEqual([
        { added: ['billing', 'vip'], removed: [] },
        { added: ['refund'], removed: ['vip'] },
      ]);
      await expect(service.setTags(999, [], 3)).resolves.toBeNull();
    });

    it('opens a request with the priority asked for, and its targets', async () => {
      service = new RequestsService(store, sla(120, 16 * 60, { high: { firstResponseMinutes: 60 } }));
      const { id } = await service.openRequestFor(manager, 7, 'Printer', null, undefined, 'high');
      expect(store.row(id)).toMatchObject({ priority: 'high', firstResponseDueAt: new Date('2026-03-02T11:00:00Z') });
    });

    it('writes no due dates when there are no targets', async () => {
      service = new RequestsService(store, sla(0, 0));
      const spy = jest.spyOn(store, 'writeDueDates');
      await service.openRequestFor(manager, 7, 'Printer', null);
      expect(spy).not.toHaveBeenCalled();
    });

    it('overrides only the targets given, records who changed what, and says false for an unknown request', async () => {
      const { id } = await service.openRequestFor(manager, 7, 'Printer', null);
      const later = new Date('2026-03-10T09:00:00Z');
      await expect(service.setDueDates(id, { firstResponseDueAt: later, resolutionDueAt: undefined }, 3)).resolves.toBe(
        true,
      );
      expect(store.row(id)).toMatchObject({
        firstResponseDueAt: later,
        resolutionDueAt: new Date('2026-03-04T10:00:00Z'),
      });
      await service.setDueDates(id, { resolutionDueAt: null }, 3);
      expect(store.row(id)?.resolutionDueAt).toBeNull();
      expect(store.events).toEqual([
        {
          requestId: id,
          type: 'sla_changed',
          actor: 'operator',
          operatorId: 3,
          data: { firstResponseDueAt: later.toISOString() },
        },
        { requestId: id, type: 'sla_changed', actor: 'operator', operatorId: 3, data: { resolutionDueAt: null } },
      ]);
      await expect(service.setDueDates(99, { resolutionDueAt: null }, 3)).resolves.toBe(false);
      expect(store.events).toHaveLength(2);
    });

    it('records the breaches of both targets, in batches', async () => {
      store.breaches = { first_response: 2, resolution: 3 };
      await expect(service.recordBreaches(50)).resolves.toBe(5);
      expect(store.batches).toEqual([50, 50]);
      await expect(service.recordBreaches()).resolves.toBe(5);
      expect(store.batches).toEqual([50, 50, 500, 500]);
    });
  });

  describe('one open request per customer', () => {
    it('returns the open request instead of opening a second one', async () => {
      const first = await service.openRequestFor(manager, 7, 'Printer', null);
      await expect(service.openRequestFor(manager, 7, 'Again', null)).resolves.toEqual({
        id: first.id,
        created: false,
      });
      expect(store.rows).toHaveLength(1);
    });

    it('cuts the subject to 998 characters and links the closed request it follows', async () => {
      const { id } = await service.openRequestFor(manager, 7, 'x'.repeat(2000), 41);
      expect(store.row(id)).toMatchObject({ subject: 'x'.repeat(998), previousRequestId: 41 });
    });

    it('reads the request a concurrent mail opened first', async () => {
      store.losingInserts = 1;
      const opened = await service.openRequestFor(manager, 7, 'Printer', null);
      expect(opened).toEqual({ id: 1, created: false });
      expect(store.row(1)?.subject).toBe('the concurrent mail');
    });

    it('opens a request in the mailbox and group of the route', async () => {
      const { id } = await service.openRequestFor(manager, 7, 'Invoice', null, { mailboxId: 2, groupId: 5 });
      expect(store.row(id)).toMatchObject({ mailboxId: 2, groupId: 5 });
    });

    it("opens a new request in another mailbox while the customer's request in one is open", async () => {
      const support = await service.openRequestFor(manager, 7, 'Printer', null, { mailboxId: null, groupId: 1 });
      const billing = await service.openRequestFor(manager, 7, 'Invoice', null, { mailboxId: 2, groupId: 5 });
      expect(billing).toEqual({ id: support.id + 1, created: true });
      await expect(
        service.openRequestFor(manager, 7, 'Invoice again', null, { mailboxId: 2, groupId: 5 }),
      ).resolves.toEqual({ id: billing.id, created: false });
      await expect(
        service.openRequestFor(manager, 7, 'Printer again', null, { mailboxId: null, groupId: 1 }),
      ).resolves.toEqual({ id: support.id, created: false });
    });

    it('without a route, joins the open request of any mailbox, as before mailboxes', async () => {
      const billing = await service.openRequestFor(manager, 7, 'Invoice', null, { mailboxId: 2, groupId: 5 });
      await expect(service.openRequestFor(manager, 7, 'Hello', null)).resolves.toEqual({
        id: billing.id,
        created: false,
      });
    });

    it('gives up after five lost races', async () => {
      store.losingInserts = 5;
      jest.spyOn(store, 'findOpenForCustomer').mockResolvedValue(null);
      await expect(service.openRequestFor(manager, 7, 'Printer', null)).rejects.toThrow(/could not open a request/);
    });
  });

  describe('satisfaction ratings', () => {
    it('records a rating of a closed request, then a change, and ignores a repeated click', async () => {
      const { id } = await service.openRequestFor(manager, 7, 'Printer', null);
      store.row(id)!.status = 'closed';
      await expect(service.recordRating(id, 4)).resolves.toBe('recorded');
      await expect(service.recordRating(id, 4)).resolves.toBe('unchanged');
      await expect(service.recordRating(id, 5)).resolves.toBe('recorded');
      expect(store.events.map((e) => e.data)).toEqual([
        { rating: 4, previous: null },
        { rating: 5, previous: 4 },
      ]);
      expect(store.events.every((e) => e.type === 'rated' && e.actor === 'customer')).toBe(true);
    });

    it('answers missing for an open or unknown request', async () => {
      const { id } = await service.openRequestFor(manager, 7, 'Printer', null);
      await expect(service.recordRating(id, 5)).resolves.toBe('missing');
      await expect(service.recordRating(99, 5)).resolves.toBe('missing');
      expect(store.events).toEqual([]);
    });
  });
});
