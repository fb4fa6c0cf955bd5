import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import * as crypto from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { Page } from '../common/pagination';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { WebhookEvent } from './webhook-events';
import { refusedTarget } from './webhook-target';
import { WebhookDispatcher } from './webhook.dispatcher';
import {
  type QueuedEvent,
  type Webhook,
  type WebhookDelivery,
  WebhooksRepository,
  type WebhooksStore,
} from './webhooks.repository';

export type { Webhook, WebhookDelivery } from './webhooks.repository';

/** A new signing secret, shown once at registration. */
export function newWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('hex')}`;
}

/**
 * Outgoing webhooks: admins register URLs for events; `enqueue` queues one delivery per
 * subscribed webhook in the caller's transaction (nothing is sent for a change that rolls back),
 * and WebhookDispatcher sends them.
 */
@Injectable()
export class WebhooksService {
  constructor(
    @Inject(WebhooksRepository) private readonly webhooks: WebhooksStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  /** Queues `event` for every webhook subscribed to it, in the caller's transaction. */
  enqueue(manager: EntityManager, event: WebhookEvent, data: Record<string, unknown>): Promise<void> {
    return this.enqueueAll(manager, [{ event, data }]);
  }

  /**
   * Queues several events (in this order) for every webhook subscribed to each, in the caller's
   * transaction and in one statement (an inbound mail that opens a request queues two). The
   * dispatcher is woken when the transaction commits.
   */
  async enqueueAll(manager: EntityManager, events: QueuedEvent[]): Promise<void> {
    if ((await this.webhooks.insertDeliveries(manager, events)) > 0) this.dispatcher.kick(manager);
  }

  /** Registers a webhook; the answer carries its signing secret (the only time it is shown). */
  async create(
    body: { url: string; events: WebhookEvent[]; description?: string | null },
    operatorId: number,
  ): Promise<Webhook & { secret: string }> {
    let url: URL;
    try {
      url = new URL(body.url);
    } catch {
      throw new BadRequestException('url must be an http(s) URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new BadRequestException('url must be http or https');
    const refused = refusedTarget(url, this.config.webhooks.allowPrivateTargets);
    if (refused) throw new BadRequestException(refused);
    const secret = newWebhookSecret();
    const webhook = await this.webhooks.insert({
      url: url.toString(),
      events: [...new Set(body.events)],
      secret,
      description: body.description?.trim() || null,
      createdBy: operatorId,
    });
    return { ...webhook, secret };
  }

  /** Every webhook with the status of its newest delivery, oldest first. */
  list(): Promise<Webhook[]> {
    return this.webhooks.list();
  }

  /** Deletes a webhook and its deliveries; 404 when unknown. */
  async remove(id: number): Promise<void> {
    if (!(await this.webhooks.delete(id))) throw new NotFoundException(`webhook ${id} does not exist`);
  }

  /** One page of a webhook's deliveries, newest first; 404 for an unknown webhook. */
  async deliveries(webhookId: number, page: number, limit: number): Promise<Page<WebhookDelivery>> {
    if (!(await this.webhooks.exists(webhookId))) throw new NotFoundException(`webhook ${webhookId} does not exist`);
    const { items, total } = await this.webhooks.deliveries(webhookId, (page - 1) * limit, limit);
    return { items, total, page, limit };
  }
}
