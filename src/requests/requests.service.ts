import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { addBusinessMinutes } from '../sla/business-hours';
import { Customer } from './customer.entity';
import { EventActor, RequestEvent, RequestEventType } from './request-event.entity';
import { preparedQuery } from '../database/prepared';
import { REQUEST_COLUMNS, RequestRow, requestFromRow } from './request-row';
import { ServiceRequest } from './request.entity';

const FIND_BY_ID = `SELECT ${REQUEST_COLUMNS}
  FROM requests r JOIN customers c ON c.id = r.customer_id LEFT JOIN operators o ON o.id = r.operator_id
  WHERE r.id = $1`;

export interface NewEvent {
  type: RequestEventType;
  actor: EventActor;
  operatorId?: number | null;
  data?: Record<string, unknown>;
}

/**
 * Requests and their customers and history: the one service other modules call. Methods that take
 * an EntityManager run inside the caller's transaction.
 */
@Injectable()
export class RequestsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** SLA due dates for a request created at `createdAt`: the configured targets counted in business time. */
  dueDates(createdAt: Date): { firstResponseDueAt: Date | null; resolutionDueAt: Date | null } {
    const { firstResponseMinutes, resolutionMinutes, businessHours, timeZone } = this.config.sla;
    const due = (minutes: number) =>
      minutes > 0 ? addBusinessMinutes(createdAt, minutes, businessHours, timeZone) : null;
    return { firstResponseDueAt: due(firstResponseMinutes), resolutionDueAt: due(resolutionMinutes) };
  }

  /** One request with its customer and operator, or null. */
  async findById(id: number, manager: EntityManager = this.dataSource.manager): Promise<ServiceRequest | null> {
    // Outside a transaction (API reads, the request answered after an action) as a prepared
    // statement; inside one (ingest, auto-replies, notes) on the transaction's connection.
    const rows: RequestRow[] =
      manager === this.dataSource.manager
        ? await preparedQuery(this.dataSource, FIND_BY_ID, [id])
        : await manager.query(FIND_BY_ID, [id]);
    return rows[0] ? requestFromRow(rows[0]) : null;
  }

  /** The request history, oldest first. */
  listEvents(requestId: number): Promise<RequestEvent[]> {
    return this.dataSource.manager.find(RequestEvent, { where: { requestId }, order: { id: 'ASC' } });
  }

  async addEvent(manager: EntityManager, requestId: number, event: NewEvent): Promise<void> {
    await manager.query(
      `INSERT INTO request_events (request_id, type, actor, operator_id, data, created_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp())`,
      [requestId, event.type, event.actor, event.operatorId ?? null, JSON.stringify(event.data ?? {})],
    );
  }

  /** The customer with this (lower-case) address, created when new; a known name is kept. */
  async upsertCustomer(manager: EntityManager, email: string, name: string | null): Promise<Customer> {
    const rows: Array<Record<string, unknown>> = await manager.query(
      `INSERT INTO customers (email, name) VALUES ($1, $2)
       ON CONFLICT (email) DO UPDATE SET name = COALESCE(customers.name, EXCLUDED.name)
       RETURNING id, email, name, blocked, created_at, updated_at`,
      [email, name || null],
    );
    const r = rows[0];
    return Object.assign(new Customer(), {
      id: r.id as number,
      email: r.email as string,
      name: r.name as string | null,
      blocked: r.blocked as boolean,
      createdAt: r.created_at as Date,
      updatedAt: r.updated_at as Date,
    });
  }

  /** The customer by address, or null. */
  findCustomerByEmail(manager: EntityManager, email: string): Promise<Customer | null> {
    return manager.findOne(Customer, { where: { email } });
  }

  /** The customer's open request (status new or in_progress), locked for this transaction. */
  async findOpenForCustomer(manager: EntityManager, customerId: number): Promise<number | null> {
    const rows: Array<{ id: number }> = await manager.query(
      `SELECT id FROM requests WHERE customer_id = $1 AND status <> 'closed' FOR UPDATE`,
      [customerId],
    );
    return rows[0]?.id ?? null;
  }

  /**
   * The customer's open request, opening one when there is none. Concurrent callers for one
   * customer get the same request: the partial unique index decides, and the loser reads the winner's.
   */
  async openRequestFor(
    manager: EntityManager,
    customerId: number,
    subject: string,
    previousRequestId: number | null,
  ): Promise<{ id: number; created: boolean }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const existing = await this.findOpenForCustomer(manager, customerId);
      if (existing !== null) return { id: existing, created: false };
      const inserted: Array<{ id: number; created_at: Date }> = await manager.query(
        `INSERT INTO requests (customer_id, subject, previous_request_id, created_at, updated_at, last_message_at)
         VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp(), clock_timestamp())
         ON CONFLICT (customer_id) WHERE status <> 'closed' DO NOTHING
         RETURNING id, created_at`,
        [customerId, subject.slice(0, 998), previousRequestId],
      );
      if (inserted[0]) {
        const due = this.dueDates(new Date(inserted[0].created_at));
        if (due.firstResponseDueAt || due.resolutionDueAt) {
          await manager.query(`UPDATE requests SET first_response_due_at = $2, resolution_due_at = $3 WHERE id = $1`, [
            inserted[0].id,
            due.firstResponseDueAt,
            due.resolutionDueAt,
          ]);
        }
        return { id: inserted[0].id, created: true };
      }
    }
    throw new Error(`could not open a request for customer ${customerId}`);
  }

  /**
   * Conditional status change: only from `from`; returns false when the request was not in that
   * state (someone else got there first), so two concurrent takes give one success.
   */
  async transition(
    manager: EntityManager,
    requestId: number,
    from: ServiceRequest['status'],
    to: ServiceRequest['status'],
    operatorId?: number,
  ): Promise<boolean> {
    const [rows]: [Array<{ id: number }>, number] = await manager.query(
      `UPDATE requests SET status = $3, updated_at = clock_timestamp(),
              operator_id = COALESCE($4, operator_id),
              closed_at = CASE WHEN $3 = 'closed' THEN clock_timestamp() ELSE closed_at END
       WHERE id = $1 AND status = $2 RETURNING id`,
      [requestId, from, to, operatorId ?? null],
    );
    return rows.length === 1;
  }

  /** Status and assignee of a request, row-locked for this transaction; null when it does not exist. */
  async lockForUpdate(
    manager: EntityManager,
    requestId: number,
  ): Promise<{ status: ServiceRequest['status']; operatorId: number | null } | null> {
    const rows: Array<{ status: ServiceRequest['status']; operator_id: number | null }> = await manager.query(
      `SELECT status, operator_id FROM requests WHERE id = $1 FOR UPDATE`,
      [requestId],
    );
    return rows[0] ? { status: rows[0].status, operatorId: rows[0].operator_id } : null;
  }

  /** Requests in progress assigned to this operator. */
  async countInProgress(manager: EntityManager, operatorId: number): Promise<number> {
    const rows: Array<{ n: number }> = await manager.query(
      `SELECT count(*)::int AS n FROM requests WHERE operator_id = $1 AND status = 'in_progress'`,
      [operatorId],
    );
    return rows[0].n;
  }

  /** Sets the assignee of a request in progress (or, with null, puts it back to `new`); false when not in progress. */
  async setAssignee(manager: EntityManager, requestId: number, operatorId: number | null): Promise<boolean> {
    const [rows]: [Array<{ id: number }>, number] = await manager.query(
      `UPDATE requests SET operator_id = $2, status = CASE WHEN $2::integer IS NULL THEN 'new' ELSE status END,
              updated_at = clock_timestamp()
       WHERE id = $1 AND status = 'in_progress' RETURNING id`,
      [requestId, operatorId],
    );
    return rows.length === 1;
  }

  /**
   * Changes the SLA due dates of a request (null removes a target) and writes a `sla_changed` event.
   * A target moved into the future may be missed, and reported, again.
   */
  async setDueDates(
    requestId: number,
    changes: { firstResponseDueAt?: Date | null; resolutionDueAt?: Date | null },
    operatorId: number,
  ): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      if (!(await this.lockForUpdate(manager, requestId))) return false;
      const sets: string[] = [];
      const params: unknown[] = [requestId];
      const data: Record<string, unknown> = {};
      const column = {
        firstResponseDueAt: ['first_response_due_at', 'sla_breached_first_response_at'],
        resolutionDueAt: ['resolution_due_at', 'sla_breached_resolution_at'],
      } as const;
      for (const key of ['firstResponseDueAt', 'resolutionDueAt'] as const) {
        const value = changes[key];
        if (value === undefined) continue;
        const [due, breached] = column[key];
        params.push(value);
        const p = `$${params.length}`;
        sets.push(
          `${due} = ${p}`,
          `${breached} = CASE WHEN ${p}::timestamptz IS NULL OR ${p}::timestamptz > clock_timestamp() THEN NULL ELSE ${breached} END`,
        );
        data[key] = value ? value.toISOString() : null;
      }
      await manager.query(
        `UPDATE requests SET ${sets.join(', ')}, updated_at = clock_timestamp() WHERE id = $1`,
        params,
      );
      await this.addEvent(manager, requestId, { type: 'sla_changed', actor: 'operator', operatorId, data });
      return true;
    });
  }

  /**
   * Marks every missed SLA target of open requests, each exactly once: the conditional UPDATE (row
   * locks, re-checked condition) decides, so concurrent checks on several instances never write two
   * `sla_breached` events for one target. Returns how many breaches were recorded.
   */
  async recordBreaches(batch = 500): Promise<number> {
    let total = 0;
    for (const [kind, due, breached, extra] of [
      ['first_response', 'first_response_due_at', 'sla_breached_first_response_at', 'AND first_response_at IS NULL'],
      ['resolution', 'resolution_due_at', 'sla_breached_resolution_at', ''],
    ] as const) {
      const rows: Array<{ request_id: number }> = await this.dataSource.query(
        `WITH breached AS (
           UPDATE requests SET ${breached} = clock_timestamp()
           WHERE id IN (SELECT id FROM requests
                        WHERE status <> 'closed' ${extra} AND ${due} < clock_timestamp() AND ${breached} IS NULL
                        ORDER BY ${due} LIMIT $1 FOR UPDATE SKIP LOCKED)
             AND status <> 'closed' ${extra} AND ${due} < clock_timestamp() AND ${breached} IS NULL
           RETURNING id, ${due} AS due_at)
         INSERT INTO request_events (request_id, type, actor, data, created_at)
         SELECT id, 'sla_breached', 'system', jsonb_build_object('kind', $2::text, 'dueAt', due_at), clock_timestamp() FROM breached
         RETURNING request_id`,
        [batch, kind],
      );
      total += rows.length;
    }
    return total;
  }

  /**
   * The customer's rating of a closed request: recorded, or changed by a later click; a repeated
   * click changes nothing. `missing` when the request does not exist or is not closed.
   */
  async recordRating(requestId: number, rating: number): Promise<'recorded' | 'unchanged' | 'missing'> {
    return this.dataSource.transaction(async (manager) => {
      const [rows]: [Array<{ previous: number | null }>, number] = await manager.query(
        `UPDATE requests r SET satisfaction_rating = $2, satisfaction_rated_at = clock_timestamp()
         FROM (SELECT id, satisfaction_rating AS previous FROM requests WHERE id = $1 AND status = 'closed' FOR UPDATE) old
         WHERE r.id = old.id AND old.previous IS DISTINCT FROM $2::smallint
         RETURNING old.previous`,
        [requestId, rating],
      );
      if (rows.length === 0) {
        const exists: unknown[] = await manager.query(`SELECT 1 FROM requests WHERE id = $1 AND status = 'closed'`, [
          requestId,
        ]);
        return exists.length ? 'unchanged' : 'missing';
      }
      await this.addEvent(manager, requestId, {
        type: 'rated',
        actor: 'customer',
        data: { rating, previous: rows[0].previous },
      });
      return 'recorded';
    });
  }

  /** Id and status of a request for the given customer or conversation participant, or null. */
  async findForParticipant(
    manager: EntityManager,
    requestId: number,
    address: string,
  ): Promise<{ id: number; status: ServiceRequest['status']; customerId: number } | null> {
    const rows: Array<{ id: number; status: ServiceRequest['status']; customer_id: number }> = await manager.query(
      `SELECT r.id, r.status, r.customer_id FROM requests r JOIN customers c ON c.id = r.customer_id
       WHERE r.id = $1 AND (c.email = $2 OR EXISTS (
         SELECT 1 FROM messages m WHERE m.request_id = r.id
           AND (m.from_address = $2 OR $2 = ANY (m.to_addresses) OR $2 = ANY (m.cc_addresses))))`,
      [requestId, address],
    );
    return rows[0] ? { id: rows[0].id, status: rows[0].status, customerId: rows[0].customer_id } : null;
  }
}
