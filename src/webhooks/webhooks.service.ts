import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Page } from '../common/pagination';
import { WEBHOOK_KICK, type WebhookEvent, type WebhookPayload } from './webhook-events';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { newWebhookSecret } from './webhook-signature';
import { refusedTarget } from './webhook-target';

/** A registered webhook (its secret is shown only when it is created). */
export interface Webhook {
  id: number;
  url: string;
  events: WebhookEvent[];
  description: string | null;
  createdAt: Date;
  /** Status of its newest delivery, or null before the first. */
  lastDelivery: { status: DeliveryStatus; at: Date; statusCode: number | null } | null;
}

/** The state of one delivery. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One queued, delivered or failed call of a webhook. */
export interface WebhookDelivery {
  id: number;
  webhookId: number;
  event: WebhookEvent;
  payload: WebhookPayload;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

const date = (v: unknown): Date => new Date(v as string | Date);

/** A webhook_deliveries row as returned by raw SQL. */
export function deliveryFromRow(r: Record<string, unknown>): WebhookDelivery {
  return {
    id: Number(r.id),
    webhookId: Number(r.webhook_id),
    event: r.event as WebhookEvent,
    payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as WebhookPayload,
    status: r.status as DeliveryStatus,
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
          status: r.last_status as DeliveryStatus,
          at: date(r.last_at),
          statusCode: (r.last_code as number | null) ?? null,
        }
      : null,
  };
}

const WEBHOOK_SELECT = `SELECT w.*, d.status AS last_status, coalesce(d.delivered_at, d.created_at) AS last_at, d.last_status_code AS last_code
  FROM webhooks w
  LEFT JOIN LATERAL (SELECT * FROM webhook_deliveries x WHERE x.webhook_id = w.id ORDER BY x.id DESC LIMIT 1) d ON true`;

/**
 * Outgoing webhooks: admins register URLs for events; `enqueue` queues one delivery per
 * subscribed webhook in the caller's transaction (nothing is sent for a change that rolls back),
 * and WebhookDispatcher sends them.
 */
@Injectable()
export class WebhooksService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Queues `event` for every webhook subscribed to it, in the caller's transaction. */
  enqueue(manager: EntityManager, event: WebhookEvent, data: Record<string, unknown>): Promise<void> {
    return this.enqueueAll(manager, [{ event, data }]);
  }

  /**
   * Queues several events (in this order) for every webhook subscribed to each, in the caller's
   * transaction and in one statement (an inbound mail that opens a request queues two).
   */
  async enqueueAll(
    manager: EntityManager,
    events: Array<{ event: WebhookEvent; data: Record<string, unknown> }>,
  ): Promise<void> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO webhook_deliveries (webhook_id, event, payload)
       SELECT w.id, e.event, jsonb_build_object('event', e.event, 'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'data', e.data)
         FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS e(event, data, n)
         JOIN webhooks w ON e.event = ANY (w.events)
        ORDER BY e.n, w.id
       RETURNING id`,
      [events.map((e) => e.event), events.map((e) => JSON.stringify(e.data))],
    );
    const qr = manager.queryRunner;
    if (rows.length > 0 && qr?.isTransactionActive) qr.data[WEBHOOK_KICK] = true;
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
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `INSERT INTO webhooks (url, events, secret, description, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [url.toString(), [...new Set(body.events)], secret, body.description?.trim() || null, operatorId],
    );
    return { ...webhookFromRow(rows[0]), secret };
  }

  /** Every webhook with the status of its newest delivery, oldest first. */
  async list(): Promise<Webhook[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(`${WEBHOOK_SELECT} ORDER BY w.id`);
    return rows.map(webhookFromRow);
  }

  /** Deletes a webhook and its deliveries; 404 when unknown. */
  async remove(id: number): Promise<void> {
    const [, count]: [unknown, number] = await this.dataSource.query(`DELETE FROM webhooks WHERE id = $1`, [id]);
    if (!count) throw new NotFoundException(`webhook ${id} does not exist`);
  }

  /** One page of a webhook's deliveries, newest first; 404 for an unknown webhook. */
  async deliveries(webhookId: number, page: number, limit: number): Promise<Page<WebhookDelivery>> {
    const exists: unknown[] = await this.dataSource.query(`SELECT 1 FROM webhooks WHERE id = $1`, [webhookId]);
    if (!exists.length) throw new NotFoundException(`webhook ${webhookId} does not exist`);
    const [rows, counted]: [Record<string, unknown>[], Array<{ n: number }>] = await Promise.all([
      this.dataSource.query(
        `SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC OFFSET $2 LIMIT $3`,
        [webhookId, (page - 1) * limit, limit],
      ),
      this.dataSource.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = $1`, [webhookId]),
    ]);
    return { items: rows.map(deliveryFromRow), total: counted[0].n, page, limit };
  }
}
