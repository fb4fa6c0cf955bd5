import { ConflictException, NotFoundException, BadRequestException } from '@nestjs/common';
import type { BlocklistRow, BlocklistStore } from './blocklist.repository';
import { BlocklistService } from './blocklist.service';

/** The blocklist table in memory: the rules tested without a database. */
class MemoryBlocklist implements BlocklistStore {
  rows: BlocklistRow[] = [];
  private nextId = 1;
  list(): Promise<BlocklistRow[]> {
    return Promise.resolve([...this.rows]);
  }
  insert(pattern: string, reason: string | null, createdBy: number | null): Promise<BlocklistRow | null> {
    if (this.rows.some((r) => r.pattern === pattern)) return Promise.resolve(null);
    const row = { id: this.nextId++, pattern, reason, createdBy, createdAt: new Date() };
    this.rows.push(row);
    return Promise.resolve(row);
  }
  delete(id: number): Promise<boolean> {
    const before = this.rows.length;
    this.rows = this.rows.filter((r) => r.id !== id);
    return Promise.resolve(this.rows.length < before);
  }
  longestMatch(patterns: string[]): Promise<BlocklistRow | null> {
    const hits = this.rows.filter((r) => patterns.includes(r.pattern));
    hits.sort((a, b) => b.pattern.length - a.pattern.length);
    return Promise.resolve(hits[0] ?? null);
  }
}

describe('BlocklistService rules', () => {
  let store: MemoryBlocklist;
  let service: BlocklistService;
  beforeEach(() => {
    store = new MemoryBlocklist();
    service = new BlocklistService(store);
  });

  it('normalizes patterns, names their kind and refuses a second copy', async () => {
    await expect(service.add('  Spam@Example.COM ', ' bulk ', 7)).resolves.toMatchObject({
      pattern: 'spam@example.com',
      kind: 'address',
      reason: 'bulk',
      createdBy: 7,
    });
    await expect(service.add('*.example.org', '', null)).resolves.toMatchObject({ kind: 'subdomains', reason: null });
    await expect(service.add('spam@example.com', null, null)).rejects.toBeInstanceOf(ConflictException);
    await expect(service.add('not a pattern', null, null)).rejects.toBeInstanceOf(BadRequestException);
  });

  it('takes an address at a host name, @domain or *.domain; 400 for anything else', async () => {
    for (const good of ['a.b+c@mail.example.com', '@localhost', '*.co.uk', `${'x'.repeat(64)}@example.com`])
      await expect(service.add(good, null, null)).resolves.toMatchObject({ pattern: good });
    for (const bad of ['@', '*.', 'a b@example.com', 'a[b]@example.com', 'a@[192.0.2.1]', `${'x'.repeat(65)}@x.com`])
      await expect(service.add(bad, null, null)).rejects.toBeInstanceOf(BadRequestException);
  });

  it('matches the most specific pattern: the address, then its domain, then a parent domain', async () => {
    await service.add('*.example.com', null, null);
    await expect(service.match('a@mail.example.com')).resolves.toMatchObject({ pattern: '*.example.com' });
    await service.add('@mail.example.com', null, null);
    await expect(service.match('a@mail.example.com')).resolves.toMatchObject({ pattern: '@mail.example.com' });
    await service.add('a@mail.example.com', null, null);
    await expect(service.match('A@Mail.Example.com')).resolves.toMatchObject({ pattern: 'a@mail.example.com' });
    await expect(service.match('b@example.net')).resolves.toBeNull();
    await expect(service.match('')).resolves.toBeNull();
  });

  it('removes a pattern, 404 for an unknown id', async () => {
    const p = await service.add('@spam.example', null, null);
    await service.remove(p.id);
    await expect(service.list()).resolves.toEqual([]);
    await expect(service.remove(p.id)).rejects.toBeInstanceOf(NotFoundException);
  });
});
