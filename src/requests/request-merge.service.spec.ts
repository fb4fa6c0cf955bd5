import { BadRequestException, ConflictException, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuthOperator } from '../common/auth.decorators';
import type { MessageKind } from '../messages/message.entity';
import type { LockedRequest, RequestMergeStore, SplitPoint } from './request-merge.repository';
import { type MergeRequests, RequestMergeService } from './request-merge.service';
import type { ServiceRequest } from './request.entity';
import type { NewEvent } from './requests.repository';

interface FakeMessage {
  id: number;
  requestId: number;
  seq: number;
  kind: MessageKind;
  subject: string;
}

/** Requests and messages in memory, moved the way the SQL moves them (the SQL itself is tested end to end). */
class MemoryMerges implements RequestMergeStore {
  requests: LockedRequest[] = [];
  messages: FakeMessage[] = [];
  locked: number[][] = [];
  dueDates: Array<{ requestId: number; first: Date | null }> = [];
  /** Transactions that fail with this PostgreSQL code before they run, counted down. */
  failures: string[] = [];
  private nextId = 100;

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const code = this.failures.shift();
    if (code) return Promise.reject(Object.assign(new Error('aborted'), { driverError: { code } }));
    return work({} as EntityManager);
  }
  renumberAfterRemoval(requestIds: number[]): Promise<void> {
    for (const id of requestIds) this.renumber(id);
    return Promise.resolve();
  }
  lockRequests(ids: number[]): Promise<LockedRequest[]> {
    this.locked.push(ids);
    return Promise.resolve(this.requests.filter((r) => ids.includes(r.id)).map((r) => ({ ...r })));
  }
  merge(sourceId: number, targetId: number): Promise<number> {
    const moving = this.messages.filter((m) => m.requestId === sourceId);
    for (const m of moving) m.requestId = targetId;
    this.renumber(targetId);
    Object.assign(
      this.requests.find((r) => r.id === sourceId)!,
      { status: 'closed', mergedIntoId: targetId },
    );
    return Promise.resolve(moving.length);
  }
  findMessage(requestId: number, messageId: number): Promise<SplitPoint | null> {
    const m = this.messages.find((x) => x.id === messageId && x.requestId === requestId);
    return Promise.resolve(m ? { id: m.id, seq: m.seq, kind: m.kind, subject: m.subject } : null);
  }
  splitMessageIds(requestId: number, point: SplitPoint, following: boolean): Promise<{ ids: number[]; total: number }> {
    const of = this.messages.filter((m) => m.requestId === requestId).sort((a, b) => a.seq - b.seq);
    const ids = of.filter((m) => m.id === point.id || (following && m.seq > point.seq)).map((m) => m.id);
    return Promise.resolve({ ids, total: of.length });
  }
  split(sourceId: number, subject: string, messageIds: number[]): Promise<{ id: number; createdAt: Date }> {
    const source = this.requests.find((r) => r.id === sourceId)!;
    const id = this.nextId++;
    this.requests.push({ ...source, id, status: 'new', mergedIntoId: null });
    this.subjects.set(id, subject);
    for (const m of this.messages) if (messageIds.includes(m.id)) m.requestId = id;
    this.renumber(id);
    this.renumber(sourceId);
    return Promise.resolve({ id, createdAt: new Date('2026-03-02T10:00:00Z') });
  }
  writeDueDates(requestId: number, first: Date | null): Promise<void> {
    this.dueDates.push({ requestId, first });
    return Promise.resolve();
  }

  subjects = new Map<number, string>();
  seqs(requestId: number): Array<[number, number]> {
    return this.messages
      .filter((m) => m.requestId === requestId)
      .sort((a, b) => a.seq - b.seq)
      .map((m) => [m.id, m.seq]);
  }
  private renumber(requestId: number): void {
    this.messages
      .filter((m) => m.requestId === requestId)
      .sort((a, b) => a.id - b.id)
      .forEach((m, i) => (m.seq = i + 1));
  }
}

const admin = { id: 1, role: 'admin', groupIds: [] } as unknown as AuthOperator;
const grouped = { id: 2, role: 'operator', groupIds: [7] } as unknown as AuthOperator;

describe('RequestMergeService', () => {
  let store: MemoryMerges;
  let events: Array<NewEvent & { requestId: number }>;
  let hooks: Array<{ event: string; data: Record<string, unknown> }>;
  let service: RequestMergeService;

  const request = (id: number, o: Partial<LockedRequest> = {}) =>
    store.requests.push({ id, status: 'new', mergedIntoId: null, customerId: id, groupId: null, ...o });
  const message = (id: number, requestId: number, kind: MessageKind = 'customer', subject = 'Hello') =>
    store.messages.push({
      id,
      requestId,
      kind,
      subject,
      seq: store.messages.filter((m) => m.requestId === requestId).length + 1,
    });

  beforeEach(() => {
    store = new MemoryMerges();
    events = [];
    hooks = [];
    const requests: MergeRequests = {
      findById: (id: number) => Promise.resolve({ id } as ServiceRequest),
      findVisible: (id: number, actor) => {
        const r = store.requests.find((x) => x.id === id);
        const visible = r && (actor.role === 'admin' || (r.groupId !== null && actor.groupIds.includes(r.groupId)));
        return Promise.resolve(visible ? ({ id, groupId: r.groupId } as ServiceRequest) : null);
      },
      addEvent: (_m: EntityManager, requestId: number, event: NewEvent) => {
        events.push({ requestId, ...event });
        return Promise.resolve();
      },
      dueDates: () => ({ firstResponseDueAt: new Date('2026-03-02T14:00:00Z'), resolutionDueAt: null }),
    };
    service = new RequestMergeService(store, requests, {
      enqueue: (_m, event, data) => {
        hooks.push({ event, data });
        return Promise.resolve();
      },
    });
  });

  describe('merge', () => {
    it('locks both requests in id order, moves the messages, writes an event on each and a webhook', async () => {
      request(5);
      request(3);
      message(1, 5);
      message(2, 3);
      message(3, 5);
      await expect(service.merge(5, 3, admin)).resolves.toEqual({ id: 3 });
      expect(store.locked).toEqual([[3, 5]]);
      expect(store.seqs(3)).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
      ]);
      expect(events).toEqual([
        { requestId: 3, type: 'merged', actor: 'operator', operatorId: 1, data: { sourceId: 5, messages: 2 } },
        { requestId: 5, type: 'merged_into', actor: 'operator', operatorId: 1, data: { targetId: 3, messages: 2 } },
      ]);
      expect(hooks).toEqual([{ event: 'request.merged', data: { requestId: 5, intoId: 3, messages: 2, mergedBy: 1 } }]);
    });

    it('refuses a request into itself (400), one the actor cannot see (404), a merged source or a closed target (409)', async () => {
      request(1);
      request(2, { groupId: 7 });
      request(3, { status: 'closed' });
      request(4, { status: 'closed', mergedIntoId: 2 });
      await expect(service.merge(1, 1, admin)).rejects.toBeInstanceOf(BadRequestException);
      await expect(service.merge(2, 1, grouped)).rejects.toBeInstanceOf(NotFoundException);
      await expect(service.merge(1, 2, grouped)).rejects.toBeInstanceOf(NotFoundException);
      await expect(service.merge(1, 99, admin)).rejects.toBeInstanceOf(NotFoundException);
      await expect(service.merge(4, 1, admin)).rejects.toBeInstanceOf(ConflictException);
      await expect(service.merge(1, 3, admin)).rejects.toBeInstanceOf(ConflictException);
      await expect(service.merge(1, 4, admin)).rejects.toThrow(/merged into request 2/);
      expect(events).toEqual([]);
    });

    it('merges a closed source (a duplicate closed first)', async () => {
      request(1, { status: 'closed' });
      request(2);
      message(1, 1);
      await expect(service.merge(1, 2, admin)).resolves.toEqual({ id: 2 });
    });

    it('runs the transaction again after a deadlock or serialization failure, and gives up after three', async () => {
      request(1);
      request(2);
      store.failures = ['40P01', '40001'];
      await expect(service.merge(1, 2, admin)).resolves.toEqual({ id: 2 });
      request(3);
      request(4);
      store.failures = ['40P01', '40P01', '40P01'];
      await expect(service.merge(3, 4, admin)).rejects.toThrow('aborted');
      store.failures = ['23505'];
      await expect(service.merge(3, 4, admin)).rejects.toThrow('aborted');
    });
  });

  describe('split', () => {
    beforeEach(() => {
      request(1);
      message(10, 1, 'customer', 'Login fails');
      message(11, 1, 'auto_reply', 'Re: [#1] Login fails');
      message(12, 1, 'customer', 'Re: [#1] AW: Invoice wrong');
      message(13, 1, 'operator', 'Re: [#1] Login fails');
    });

    it('moves the message and the later ones into a new request with the base subject, due dates and events on both', async () => {
      const opened = await service.split(1, { messageId: 12, following: true }, admin);
      expect(opened).toEqual({ id: 100 });
      expect(store.subjects.get(100)).toBe('Invoice wrong');
      expect(store.seqs(100)).toEqual([
        [12, 1],
        [13, 2],
      ]);
      expect(store.seqs(1)).toEqual([
        [10, 1],
        [11, 2],
      ]);
      expect(store.dueDates).toEqual([{ requestId: 100, first: new Date('2026-03-02T14:00:00Z') }]);
      expect(events).toEqual([
        {
          requestId: 1,
          type: 'split',
          actor: 'operator',
          operatorId: 1,
          data: { newRequestId: 100, messageIds: [12, 13], messages: 2 },
        },
        {
          requestId: 100,
          type: 'split_from',
          actor: 'operator',
          operatorId: 1,
          data: { sourceId: 1, messageIds: [12, 13], messages: 2 },
        },
      ]);
    });

    it('moves the one message without following', async () => {
      await service.split(1, { messageId: 12 }, admin);
      expect(store.seqs(100)).toEqual([[12, 1]]);
      expect(store.seqs(1).map(([id]) => id)).toEqual([10, 11, 13]);
    });

    it('refuses a message of another request or not from the customer (400), all messages (409), a merged request (409), another group (404)', async () => {
      request(2);
      message(20, 2);
      await expect(service.split(1, { messageId: 20 }, admin)).rejects.toBeInstanceOf(BadRequestException);
      await expect(service.split(1, { messageId: 11 }, admin)).rejects.toBeInstanceOf(BadRequestException);
      await expect(service.split(1, { messageId: 10, following: true }, admin)).rejects.toBeInstanceOf(
        ConflictException,
      );
      await expect(service.split(2, { messageId: 20 }, admin)).rejects.toBeInstanceOf(ConflictException);
      await expect(service.split(1, { messageId: 12 }, grouped)).rejects.toBeInstanceOf(NotFoundException);
      store.requests.find((r) => r.id === 2)!.mergedIntoId = 1;
      await expect(service.split(2, { messageId: 20 }, admin)).rejects.toThrow(/merged into request 1/);
      expect(events).toEqual([]);
    });
  });
});
