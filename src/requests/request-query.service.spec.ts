import { BadRequestException } from '@nestjs/common';
import type { ListRequestsQuery } from './dto/list-requests.query';
import type { RequestView } from './dto/request.dto';
import type { RequestListCriteria, RequestListStore } from './request-query.repository';
import { RequestQueryService } from './request-query.service';

/** A request list of `matches` requests in memory: the page is the window's share of them. */
class MemoryRequestList implements RequestListStore {
  asked: RequestListCriteria[] = [];
  constructor(
    private readonly matches: number,
    private readonly countLimit: number,
  ) {}
  page(criteria: RequestListCriteria): Promise<{ items: RequestView[]; counted: number }> {
    this.asked.push(criteria);
    const shown = Math.max(0, Math.min(criteria.limit, this.matches - criteria.offset));
    const items = Array.from({ length: shown }, (_, i) => ({ id: criteria.offset + i + 1 }) as RequestView);
    // The count stops after countLimit + 1 matches, but for a search ranking every match.
    const all = criteria.order === 'relevance' && criteria.rankLimit === 0;
    const read = this.countLimit && !all ? this.countLimit + 1 : Infinity;
    return Promise.resolve({ items, counted: Math.min(this.matches, read) });
  }
}

function service(
  matches: number,
  countLimit = 1000,
  searchRankLimit = 1000,
): { store: MemoryRequestList; list: RequestQueryService } {
  const store = new MemoryRequestList(matches, countLimit);
  return { store, list: new RequestQueryService(store, { queue: { countLimit, searchRankLimit } }) };
}

const query = (q: Partial<ListRequestsQuery>) => q as ListRequestsQuery;

/** Who sees every request: an admin (or an operator in no group). */
const ADMIN = { role: 'admin' as const, groupIds: [] };

describe('RequestQueryService rules', () => {
  describe('the criteria of a page', () => {
    it('reads the query string: distinct statuses, a lower-case customer, the page window, newest first', async () => {
      const { store, list } = service(0);
      await list.list(
        query({ status: ['new', 'new', 'closed'], customer: ' Jane@Example.COM ', page: 3, limit: 10 }),
        ADMIN,
      );
      expect(store.asked[0]).toMatchObject({
        statuses: ['new', 'closed'],
        customerEmail: 'jane@example.com',
        order: { key: 'createdAt', descending: true },
        offset: 20,
        limit: 10,
        countLimit: 1000,
      });
    });

    it('includes the whole day of a bare createdTo date, and exactly a createdTo date-time', async () => {
      const { store, list } = service(0);
      await list.list(query({ createdFrom: '2025-11-01', createdTo: '2025-11-30' }), ADMIN);
      await list.list(query({ createdTo: '2025-11-30T12:00:00+01:00' }), ADMIN);
      expect(store.asked[0].createdFrom).toEqual(new Date('2025-11-01T00:00:00Z'));
      expect(store.asked[0].createdTo).toEqual({ at: new Date('2025-12-01T00:00:00Z'), inclusive: false });
      expect(store.asked[1].createdTo).toEqual({ at: new Date('2025-11-30T11:00:00Z'), inclusive: true });
    });

    it('answers 400 for an impossible date', async () => {
      const { store, list } = service(0);
      await expect(list.list(query({ createdTo: '2025-13-01' }), ADMIN)).rejects.toBeInstanceOf(BadRequestException);
      expect(store.asked).toEqual([]);
    });

    it('orders a search by relevance unless a sort is given', async () => {
      const { store, list } = service(0);
      await list.list(query({ q: 'printer' }), ADMIN);
      await list.list(query({ q: 'printer', sort: 'lastMessageAt' }), ADMIN);
      expect(store.asked.map((c) => c.order)).toEqual(['relevance', { key: 'lastMessageAt', descending: false }]);
    });

    it('reads overdue as a boolean', async () => {
      const { store, list } = service(0);
      await list.list(query({ overdue: 'true' }), ADMIN);
      await list.list(query({ overdue: 'false' }), ADMIN);
      await list.list(query({}), ADMIN);
      expect(store.asked.map((c) => c.overdue)).toEqual([true, false, undefined]);
    });

    it('answers 400 for a sort that is not a sort key', async () => {
      const { list } = service(0);
      await expect(list.list(query({ sort: '-toString' }), ADMIN)).rejects.toThrow('sort is not a sortable field');
    });
  });

  describe('the total', () => {
    it('is exact up to REQUESTS_COUNT_LIMIT', async () => {
      await expect(service(1000).list.list(query({}), ADMIN)).resolves.toMatchObject({ total: 1000, totalExact: true });
    });

    it('past the limit, is exact on the last page (not full)', async () => {
      const { list } = service(5005);
      await expect(list.list(query({ page: 251, limit: 20 }), ADMIN)).resolves.toMatchObject({
        total: 5005,
        totalExact: true,
      });
    });

    it('past the limit, is a lower bound on a full page: the limit, or the end of the page when further', async () => {
      const { list } = service(5005);
      await expect(list.list(query({ page: 1, limit: 20 }), ADMIN)).resolves.toMatchObject({
        total: 1000,
        totalExact: false,
      });
      await expect(list.list(query({ page: 100, limit: 20 }), ADMIN)).resolves.toMatchObject({
        total: 2000,
        totalExact: false,
      });
    });

    it('past the limit, is the limit on an empty page past the end', async () => {
      const { list } = service(5005);
      await expect(list.list(query({ page: 1000, limit: 20 }), ADMIN)).resolves.toMatchObject({
        items: [],
        total: 1000,
        totalExact: false,
      });
    });

    it('counts a ranked search as any list: a lower bound past the limit', async () => {
      const { store, list } = service(5005);
      await expect(list.list(query({ q: 'printer' }), ADMIN)).resolves.toMatchObject({
        total: 1000,
        totalExact: false,
      });
      expect(store.asked[0]).toMatchObject({ order: 'relevance', rankLimit: 1000 });
    });

    it('is always exact for a search ranking every match (REQUESTS_SEARCH_RANK_LIMIT=0) and with REQUESTS_COUNT_LIMIT=0', async () => {
      await expect(service(5005, 1000, 0).list.list(query({ q: 'printer' }), ADMIN)).resolves.toMatchObject({
        total: 5005,
        totalExact: true,
      });
      await expect(service(5005, 0).list.list(query({}), ADMIN)).resolves.toMatchObject({
        total: 5005,
        totalExact: true,
      });
    });
  });

  describe('the scope of groups', () => {
    it('adds no condition for admins and operators in no group', async () => {
      const { store, list } = service(0);
      await list.list(query({}), { role: 'admin', groupIds: [1] });
      await list.list(query({}), { role: 'operator', groupIds: [] });
      expect(store.asked.map((c) => c.groupScope)).toEqual([undefined, undefined]);
    });

    it("limits an operator in groups to their groups' requests, besides the mailbox and group filters", async () => {
      const { store, list } = service(0);
      await list.list(query({ mailboxId: 4, groupId: 2 }), { role: 'operator', groupIds: [2, 3] });
      expect(store.asked[0]).toMatchObject({ groupScope: [2, 3], mailboxId: 4, groupId: 2 });
    });
  });
});
