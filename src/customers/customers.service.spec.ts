import { BadRequestException, NotFoundException } from '@nestjs/common';
import type { CustomerRequest, CustomersStore, CustomerSummary } from './customers.repository';
import { CustomersService, escapeLike } from './customers.service';

/** The customers table in memory: LIKE with backslash escapes, as PostgreSQL reads the search text. */
class MemoryCustomers implements CustomersStore {
  customers: CustomerSummary[] = [];
  requests = new Map<number, CustomerRequest[]>();
  searches: Array<string | null> = [];

  list(search: string | null, offset: number, limit: number): Promise<CustomerSummary[]> {
    this.searches.push(search);
    return Promise.resolve(
      this.matching(search)
        .slice(offset, offset + limit)
        .map((c) => ({ ...c })),
    );
  }
  count(search: string | null): Promise<number> {
    return Promise.resolve(this.matching(search).length);
  }
  findById(id: number): Promise<CustomerSummary | null> {
    const found = this.customers.find((c) => c.id === id);
    return Promise.resolve(found ? { ...found } : null);
  }
  requestsOf(customerId: number): Promise<CustomerRequest[]> {
    return Promise.resolve(this.requests.get(customerId) ?? []);
  }
  requestCountsInGroups(customerIds: number[], groupIds: readonly number[]): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const id of customerIds) {
      const n = (this.requests.get(id) ?? []).filter((r) => r.groupId !== null && groupIds.includes(r.groupId)).length;
      if (n) counts.set(id, n);
    }
    return Promise.resolve(counts);
  }
  update(id: number, change: { name?: string | null; blocked?: boolean; locale?: string | null }): Promise<boolean> {
    const found = this.customers.find((c) => c.id === id);
    if (!found) return Promise.resolve(false);
    if (change.name !== undefined) found.name = change.name;
    if (change.locale !== undefined) found.locale = change.locale;
    if (change.blocked !== undefined) found.blocked = change.blocked;
    return Promise.resolve(true);
  }

  add(id: number, email: string, name: string | null): void {
    this.customers.push({ id, email, name, blocked: false, locale: null, createdAt: new Date(), requestCount: 0 });
  }
  private matching(search: string | null): CustomerSummary[] {
    const literal = search?.replace(/\\(.)/g, '$1').toLowerCase();
    return this.customers
      .filter((c) => literal === undefined || `${c.email}\n${c.name ?? ''}`.toLowerCase().includes(literal))
      .sort((a, b) => a.email.localeCompare(b.email) || a.id - b.id);
  }
}

/** Sees every request. */
const ADMIN = { role: 'admin' as const, groupIds: [] };

describe('CustomersService rules', () => {
  let store: MemoryCustomers;
  let service: CustomersService;
  beforeEach(() => {
    store = new MemoryCustomers();
    service = new CustomersService(store);
    store.add(1, 'zed@example.com', 'Zed');
    store.add(2, 'jane_doe@example.com', 'Jane');
    store.add(3, 'janexdoe@example.com', null);
    store.add(4, '100%@example.com', null);
  });

  it('searches address and name literally: % and _ match only themselves', async () => {
    await expect(service.list(' jane_ ', 1, 20, ADMIN)).resolves.toMatchObject({ total: 1, items: [{ id: 2 }] });
    await expect(service.list('100%', 1, 20, ADMIN)).resolves.toMatchObject({ total: 1, items: [{ id: 4 }] });
    expect(store.searches).toEqual(['jane\\_', '100\\%']);
    expect(escapeLike('a\\b%c_d')).toBe('a\\\\b\\%c\\_d');
  });

  it('lists every customer by address, a page at a time, without a search', async () => {
    const page = await service.list(undefined, 2, 3, ADMIN);
    expect(page).toMatchObject({ total: 4, page: 2, limit: 3 });
    expect(page.items.map((c) => c.id)).toEqual([1]);
    await service.list('', 1, 3, ADMIN);
    expect(store.searches).toEqual([null, null]);
  });

  it('reads one customer with their requests; 404 when unknown', async () => {
    const requests = [{ id: 9, status: 'new', subject: 'Printer', createdAt: new Date(), groupId: null }];
    store.requests.set(2, requests);
    await expect(service.get(2, ADMIN)).resolves.toMatchObject({ id: 2, email: 'jane_doe@example.com', requests });
    await expect(service.get(99, ADMIN)).rejects.toBeInstanceOf(NotFoundException);
  });

  it("shows an operator in groups only their groups' requests, listed and counted", async () => {
    const at = new Date();
    store.requests.set(2, [
      { id: 9, status: 'new', subject: 'Invoice', createdAt: at, groupId: 2 },
      { id: 8, status: 'new', subject: 'Printer', createdAt: at, groupId: 1 },
      { id: 7, status: 'closed', subject: 'Old', createdAt: at, groupId: null },
    ]);
    store.customers.find((c) => c.id === 2)!.requestCount = 3;
    const billing = { role: 'operator' as const, groupIds: [2] };
    await expect(service.get(2, billing)).resolves.toMatchObject({ requestCount: 1, requests: [{ id: 9 }] });
    await expect(service.get(2, { role: 'operator', groupIds: [] })).resolves.toMatchObject({ requestCount: 3 });
    const page = await service.list('jane_', 1, 20, billing);
    expect(page.items).toMatchObject([{ id: 2, requestCount: 1 }]);
    await expect(service.list('jane_', 1, 20, ADMIN)).resolves.toMatchObject({ items: [{ id: 2, requestCount: 3 }] });
  });

  it('renames (a blank name clears it), blocks, and leaves what is not given', async () => {
    await expect(service.update(1, { name: '  Zed Zero ' }, ADMIN)).resolves.toMatchObject({
      name: 'Zed Zero',
      blocked: false,
    });
    await expect(service.update(1, { blocked: true }, ADMIN)).resolves.toMatchObject({
      name: 'Zed Zero',
      blocked: true,
    });
    await expect(service.update(1, { name: '   ' }, ADMIN)).resolves.toMatchObject({ name: null, blocked: true });
    await expect(service.update(2, { name: null }, ADMIN)).resolves.toMatchObject({ name: null });
    await expect(service.update(99, { blocked: true }, ADMIN)).rejects.toBeInstanceOf(NotFoundException);
  });

  it('sets the locale in canonical case, clears it with null, refuses what is no language tag', async () => {
    await expect(service.update(1, { locale: 'PT-br' }, ADMIN)).resolves.toMatchObject({ locale: 'pt-BR' });
    await expect(service.update(1, { name: 'Zed' }, ADMIN)).resolves.toMatchObject({ locale: 'pt-BR' });
    await expect(service.update(1, { locale: null }, ADMIN)).resolves.toMatchObject({ locale: null });
    await expect(service.update(1, { locale: 'english' }, ADMIN)).rejects.toBeInstanceOf(BadRequestException);
  });
});
