import { NotFoundException } from '@nestjs/common';
import type { CustomerRequest, CustomersStore, CustomerSummary } from './customers.repository';
import { CustomersService, escapeLike } from './customers.service';

/** The customers table in memory: LIKE with backslash escapes, as PostgreSQL reads the search text. */
class MemoryCustomers implements CustomersStore {
  customers: CustomerSummary[] = [];
  requests = new Map<number, CustomerRequest[]>();
  searches: Array<string | null> = [];

  list(search: string | null, offset: number, limit: number): Promise<CustomerSummary[]> {
    this.searches.push(search);
    return Promise.resolve(this.matching(search).slice(offset, offset + limit));
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
  update(id: number, change: { name?: string | null; blocked?: boolean }): Promise<boolean> {
    const found = this.customers.find((c) => c.id === id);
    if (!found) return Promise.resolve(false);
    if (change.name !== undefined) found.name = change.name;
    if (change.blocked !== undefined) found.blocked = change.blocked;
    return Promise.resolve(true);
  }

  add(id: number, email: string, name: string | null): void {
    this.customers.push({ id, email, name, blocked: false, createdAt: new Date(), requestCount: 0 });
  }
  private matching(search: string | null): CustomerSummary[] {
    const literal = search?.replace(/\\(.)/g, '$1').toLowerCase();
    return this.customers
      .filter((c) => literal === undefined || `${c.email}\n${c.name ?? ''}`.toLowerCase().includes(literal))
      .sort((a, b) => a.email.localeCompare(b.email) || a.id - b.id);
  }
}

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
    await expect(service.list(' jane_ ', 1, 20)).resolves.toMatchObject({ total: 1, items: [{ id: 2 }] });
    await expect(service.list('100%', 1, 20)).resolves.toMatchObject({ total: 1, items: [{ id: 4 }] });
    expect(store.searches).toEqual(['jane\\_', '100\\%']);
    expect(escapeLike('a\\b%c_d')).toBe('a\\\\b\\%c\\_d');
  });

  it('lists every customer by address, a page at a time, without a search', async () => {
    const page = await service.list(undefined, 2, 3);
    expect(page).toMatchObject({ total: 4, page: 2, limit: 3 });
    expect(page.items.map((c) => c.id)).toEqual([1]);
    await service.list('', 1, 3);
    expect(store.searches).toEqual([null, null]);
  });

  it('reads one customer with their requests; 404 when unknown', async () => {
    const requests = [{ id: 9, status: 'new', subject: 'Printer', createdAt: new Date() }];
    store.requests.set(2, requests);
    await expect(service.get(2)).resolves.toMatchObject({ id: 2, email: 'jane_doe@example.com', requests });
    await expect(service.get(99)).rejects.toBeInstanceOf(NotFoundException);
  });

  it('renames (a blank name clears it), blocks, and leaves what is not given', async () => {
    await expect(service.update(1, { name: '  Zed Zero ' })).resolves.toMatchObject({
      name: 'Zed Zero',
      blocked: false,
    });
    await expect(service.update(1, { blocked: true })).resolves.toMatchObject({ name: 'Zed Zero', blocked: true });
    await expect(service.update(1, { name: '   ' })).resolves.toMatchObject({ name: null, blocked: true });
    await expect(service.update(2, { name: null })).resolves.toMatchObject({ name: null });
    await expect(service.update(99, { blocked: true })).rejects.toBeInstanceOf(NotFoundException);
  });
});
