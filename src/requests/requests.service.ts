import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Customer } from './customer.entity';
import { EventActor, RequestEvent, RequestEventType } from './request-event.entity';
import { ServiceRequest } from './request.entity';

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
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** One request with its customer and operator, or null. */
  findById(id: number, manager: EntityManager = this.dataSource.manager): Promise<ServiceRequest | null> {
    // One statement: findOne with relations runs two (a DISTINCT id query for its LIMIT 1, then the row).
    return manager
      .createQueryBuilder(ServiceRequest, 'r')
      .innerJoinAndSelect('r.customer', 'customer')
      .leftJoinAndSelect('r.operator', 'operator')
      .where('r.id = :id', { id })
      .getOne();
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
      const inserted: Array<{ id: number }> = await manager.query(
        `INSERT INTO requests (customer_id, subject, previous_request_id, created_at, updated_at, last_message_at)
         VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp(), clock_timestamp())
         ON CONFLICT (customer_id) WHERE status <> 'closed' DO NOTHING
         RETURNING id`,
        [customerId, subject.slice(0, 998), previousRequestId],
      );
      if (inserted[0]) return { id: inserted[0].id, created: true };
    }
    throw new Error(`could not open a request for customer ${customerId}`);
  }

  /**
   * Reserves the next message number on a request (row lock until commit keeps `seq` gapless) and
   * touches its activity times.
   */
  async nextSeq(manager: EntityManager, requestId: number, direction: 'in' | 'out', firstResponse: boolean): Promise<number> {
    // TypeORM answers an UPDATE ... RETURNING with [rows, rowCount].
    const [rows]: [Array<{ last_seq: number }>, number] = await manager.query(
      `UPDATE requests SET last_seq = last_seq + 1, updated_at = clock_timestamp(),
              last_message_at = CASE WHEN $2 = 'in' OR last_message_at IS NULL THEN clock_timestamp() ELSE last_message_at END,
              first_response_at = CASE WHEN $3::boolean AND first_response_at IS NULL THEN clock_timestamp() ELSE first_response_at END
       WHERE id = $1 RETURNING last_seq`,
      [requestId, direction, firstResponse],
    );
    if (!rows[0]) throw new Error(`request ${requestId} does not exist`);
    return rows[0].last_seq;
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
