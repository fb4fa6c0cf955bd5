import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { DeliveryStatus, QueuedDelivery } from '../database/lease-queue';
import { LeaseQueueRepository, type LeaseStore } from '../database/lease-queue.repository';
import type { WebhookEvent, WebhookPayload } from './webhook-events';

/**
 * The statements of the webhooks table and of its deliveries (written to webhooks.repository.sql by
 * `npm run sql`); the deliveries' queue runs lease-queue.repository.ts's.
 */
export const SQL = {
  /** One delivery per event ($1, data $2, in this order) and subscribed webhook; the payload is stamped now. */
  insertDeliveries: `INSERT INTO webhook_deliveries (webhook_id, event, payload)
    SELECT w.id, e.event, jsonb_build_object('event', e.event, 'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'data', e.data)
      FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS e(event, data, n)
      JOIN webhooks w ON e.event = ANY (w.events)
     ORDER BY e.n, w.id
    RETURNING id`,
  insert: `INSERT INTO webhooks (url, events, secret, description, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
  /** Every webhook with its newest delivery, oldest first. */
  list: `SELECT w.*, d.status AS last_status, coalesce(d.delivered_at, d.created_at) AS last_at, d.last_status_code AS last_code
    FROM webhooks w
    LEFT JOIN LATERAL (SELECT * FROM webhook_deliveries x WHERE x.webhook_id = w.id ORDER BY x.id DESC LIMIT 1) d ON true
    ORDER BY w.id`,
  delete: `DELETE FROM webhooks WHERE id = $1`,
  exists: `SELECT 1 FROM webhooks WHERE id = $1`,
  deliveriesPage: `SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC OFFSET $2 LIMIT $3`,
  deliveriesCount: `SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = $1`,
  /** What a claim of the deliveries' lease queue answers: each claimed delivery with its webhook's URL and secret. */
  claimedWithTarget: `SELECT c.*, w.url, w.secret FROM claimed c JOIN webhooks w ON w.id = c.webhook_id ORDER BY c.next_attempt_at, c.id`,
} as const;

/** A webhook call is done when delivered (a 2xx answer). */
export type WebhookDeliveryStatus = DeliveryStatus<'delivered'>;

/** A registered webhook (its secret is shown only when it is created). */
export interface Webhook {
  id: number;
  url: string;
  events: WebhookEvent[];
  description: string | null;
  createdAt: Date;
  /** Status of its newest delivery, or null before the first. */
  lastDelivery: { status: WebhookDeliveryStatus; at: Date; statusCode: number | null } | null;
}

/** One queued, delivered or failed call of a webhook. */
export interface WebhookDelivery extends QueuedDelivery<'delivered'> {
  id: number;
  webhookId: number;
  event: WebhookEvent;
  payload: WebhookPayload;
  lastStatusCode: number | null;
  deliveredAt: Date | null;
}

/** A claimed delivery with where it goes. */
export interface ClaimedDelivery extends WebhookDelivery {
  url: string;
  secret: string;
}

const date = (v: unknown): Date => new Date(v as string | Date);

function deliveryFromRow(r: Record<string, unknown>): WebhookDelivery {
  return {
    id: Number(r.id),
    webhookId: Number(r.webhook_id),
    event: r.event as WebhookEvent,
    payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as WebhookPayload,
    status: r.status as WebhookDeliveryStatus,
    attempts: Number(r.attempts),
    nextAttemptAt: date(r.next_attempt_at),
    lastStatusCode: r.last_status_code === null || r.last_status_code === undefined ? null : Number(r.last_status_code),
    lastError: (r.last_error as string | null) ?? null,
    deliveredAt: r.delivered_at ? date(r.delivered_at) : null,
    createdAt: date(r.created_at),
  };
}

function webhookFromRow(r: Record<string, unknown>): Webhook {
  return {
    id: Number(r.id),
    url: r.url as string,
    events: r.events as WebhookEvent[],
    description: (r.description as string | null) ?? null,
    createdAt: date(r.created_at),
    lastDelivery: r.last_status
      ? {
          status: r.last_status as WebhookDeliveryStatus,
          at: date(r.last_at),
          statusCode: (r.last_code as number | null) ?? null,
        }
      : null,
  };
}

/** An event to queue, with its data. */
export interface QueuedEvent {
  event: WebhookEvent;
  data: Record<string, unknown>;
}

/** A webhook to register. */
export interface NewWebhook {
  url: string;
  events: WebhookEvent[];
  secret: string;
  description: string | null;
  createdBy: number;
}

/** What the webhook rules need of storage (WebhooksService, WebhookDispatcher; in-memory fakes in unit tests). */
export interface WebhooksStore {
  /** The deliveries as a lease queue: what the dispatcher claims (with their target) and marks. */
  readonly leases: LeaseStore<ClaimedDelivery>;
  /** Queues one delivery per event and subscribed webhook, in the caller's transaction; how many were queued. */
  insertDeliveries(manager: EntityManager, events: readonly QueuedEvent[]): Promise<number>;
  insert(webhook: NewWebhook): Promise<Webhook>;
  /** Every webhook with its newest delivery, oldest first. */
  list(): Promise<Webhook[]>;
  /** Deletes a webhook (its deliveries go with it); whether there was one. */
  delete(id: number): Promise<boolean>;
  exists(id: number): Promise<boolean>;
  /** One page of a webhook's deliveries, newest first, and how many it has. */
  deliveries(webhookId: number, offset: number, limit: number): Promise<{ items: WebhookDelivery[]; total: number }>;
}

/** The webhooks table and webhook_deliveries. */
@Injectable()
export class WebhooksRepository implements WebhooksStore {
  readonly leases: LeaseQueueRepository<ClaimedDelivery>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.leases = new LeaseQueueRepository(
      dataSource,
      {
        table: 'webhook_deliveries',
        doneStatus: 'delivered',
        doneAt: 'delivered_at',
        outcomeColumns: ['last_status_code'],
        claimed: SQL.claimedWithTarget,
      },
      (r) => ({ ...deliveryFromRow(r), url: r.url as string, secret: r.secret as string }),
    );
  }

  async insertDeliveries(manager: EntityManager, events: readonly QueuedEvent[]): Promise<number> {
    const rows: unknown[] = await manager.query(SQL.insertDeliveries, [
      events.map((e) => e.event),
      events.map((e) => JSON.stringify(e.data)),
    ]);
    return rows.length;
  }

  async insert(webhook: NewWebhook): Promise<Webhook> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(SQL.insert, [
      webhook.url,
      webhook.events,
      webhook.secret,
      webhook.description,
      webhook.createdBy,
    ]);
    return webhookFromRow(rows[0]);
  }

  async list(): Promise<Webhook[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(SQL.list);
    return rows.map(webhookFromRow);
  }

  async delete(id: number): Promise<boolean> {
    const [, count]: [unknown, number] = await this.dataSource.query(SQL.delete, [id]);
    return count > 0;
  }

  async exists(id: number): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(SQL.exists, [id]);
    return rows.length > 0;
  }

  async deliveries(
    webhookId: number,
    offset: number,
    limit: number,
  ): Promise<{ items: WebhookDelivery[]; total: number }> {
    const [rows, counted]: [Record<string, unknown>[], Array<{ n: number }>] = await Promise.all([
      this.dataSource.query(SQL.deliveriesPage, [webhookId, offset, limit]),
      this.dataSource.query(SQL.deliveriesCount, [webhookId]),
    ]);
    return { items: rows.map(deliveryFromRow), total: counted[0].n };
  }
}
