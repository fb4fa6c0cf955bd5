import { jest } from '@jest/globals';
import { BadRequestException, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { loadConfig } from '../config/config';
import type { LeaseStore } from '../database/lease-queue.repository';
import type { WebhookDispatcher } from './webhook.dispatcher';
import type {
  ClaimedDelivery,
  NewWebhook,
  QueuedEvent,
  Webhook,
  WebhookDelivery,
  WebhooksStore,
} from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/** The webhooks and their deliveries in memory: the rules tested without a database. */
class MemoryWebhooks implements WebhooksStore {
  readonly leases = {} as LeaseStore<ClaimedDelivery>;
  hooks: Array<Webhook & { secret: string }> = [];
  queued: QueuedEvent[] = [];
  pages: Array<[number, number, number]> = [];

  insertDeliveries(_manager: EntityManager, events: readonly QueuedEvent[]): Promise<number> {
    const matching = events.filter((e) => this.hooks.some((h) => h.events.includes(e.event)));
    this.queued.push(...matching);
    return Promise.resolve(matching.length);
  }

  insert(w: NewWebhook): Promise<Webhook> {
    const hook = { ...w, id: this.hooks.length + 1, createdAt: new Date(), lastDelivery: null };
    this.hooks.push(hook);
    return Promise.resolve(hook);
  }

  list(): Promise<Webhook[]> {
    return Promise.resolve(this.hooks);
  }

  delete(id: number): Promise<boolean> {
    const before = this.hooks.length;
    this.hooks = this.hooks.filter((h) => h.id !== id);
    return Promise.resolve(this.hooks.length < before);
  }

  exists(id: number): Promise<boolean> {
    return Promise.resolve(this.hooks.some((h) => h.id === id));
  }

  deliveries(webhookId: number, offset: number, limit: number): Promise<{ items: WebhookDelivery[]; total: number }> {
    this.pages.push([webhookId, offset, limit]);
    return Promise.resolve({ items: [], total: 0 });
  }
}

const manager = {} as EntityManager;

describe('WebhooksService rules', () => {
  let store: MemoryWebhooks;
  let dispatcher: { kick: jest.Mock };
  const service = (allowPrivate = false) =>
    new WebhooksService(
      store,
      loadConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: String(allowPrivate) }),
      dispatcher as unknown as WebhookDispatcher,
    );
  beforeEach(() => {
    store = new MemoryWebhooks();
    dispatcher = { kick: jest.fn() };
  });

  it('registers an http(s) URL with its events once each, and answers a new signing secret', async () => {
    const created = await service().create(
      { url: 'https://chat.example.com/hook', events: ['request.created', 'request.created'], description: '  bot ' },
      7,
    );
    expect(created.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    expect(store.hooks[0]).toMatchObject({
      url: 'https://chat.example.com/hook',
      events: ['request.created'],
      description: 'bot',
      createdBy: 7,
      secret: created.secret,
    });
    const other = await service().create({ url: 'https://chat.example.com/hook', events: ['request.closed'] }, 7);
    expect(other.secret).not.toBe(created.secret);
    expect(store.hooks[1].description).toBeNull();
  });

  it('refuses what is not http(s), and private targets unless they are allowed', async () => {
    await expect(service().create({ url: 'ftp://example.com/', events: ['request.created'] }, 1)).rejects.toThrow(
      'url must be http or https',
    );
    await expect(service().create({ url: 'not a url', events: ['request.created'] }, 1)).rejects.toThrow(
      BadRequestException,
    );
    await expect(service().create({ url: 'http://127.0.0.1:8080/', events: ['request.created'] }, 1)).rejects.toThrow(
      /loopback|private/,
    );
    await expect(
      service(true).create({ url: 'http://127.0.0.1:8080/', events: ['request.created'] }, 1),
    ).resolves.toMatchObject({ id: 1 });
  });

  it('wakes the dispatcher on the commit of the transaction that queued deliveries, and only then', async () => {
    await service().enqueueAll(manager, [{ event: 'request.created', data: { requestId: 1 } }]);
    expect(dispatcher.kick).not.toHaveBeenCalled(); // no webhook wants it
    await service().create({ url: 'https://chat.example.com/hook', events: ['request.created'] }, 1);
    await service().enqueue(manager, 'request.created', { requestId: 2 });
    expect(store.queued).toEqual([{ event: 'request.created', data: { requestId: 2 } }]);
    expect(dispatcher.kick).toHaveBeenCalledWith(manager);
  });

  it('answers 404 for an unknown webhook, and pages the deliveries of a known one', async () => {
    await expect(service().remove(5)).rejects.toThrow(NotFoundException);
    await expect(service().deliveries(5, 1, 20)).rejects.toThrow('webhook 5 does not exist');
    await service().create({ url: 'https://chat.example.com/hook', events: ['request.created'] }, 1);
    await expect(service().deliveries(1, 3, 20)).resolves.toEqual({ items: [], total: 0, page: 3, limit: 20 });
    expect(store.pages).toEqual([[1, 40, 20]]);
    await service().remove(1);
    expect(store.hooks).toEqual([]);
  });
});
