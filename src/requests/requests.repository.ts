import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '../database/prepared';
import type { IsoString } from '../database/timestamps';
import { Customer } from './customer.entity';
import type { RequestView } from './dto/request.dto';
import { EventActor, RequestEvent, RequestEventType } from './request-event.entity';
import type { RequestStatus, ServiceRequest } from './request.entity';
import { requestEventsWritten } from './request-events-signal';
import type { Priority } from './tags';

/**
 * The columns of a request with its customer (c_) and operator (o_), for a statement over
 * `requests r JOIN customers c ... LEFT JOIN operators o ...`: read with plain SQL and mapped by
 * requestFromRow, without the entity query builder (its SQL building and hydration cost more CPU
 * than the statement on the hot paths: the queue, every auto-reply).
 */
const REQUEST_COLUMNS = `r.id, r.status, r.subject, r.customer_id, r.operator_id, r.previous_request_id,
        r.last_seq, r.created_at, r.updated_at, r.first_response_at, r.closed_at, r.last_message_at,
        r.first_response_due_at, r.resolution_due_at, r.sla_breached_first_response_at,
        r.sla_breached_resolution_at, r.satisfaction_rating, r.satisfaction_rated_at,
        r.mailbox_id, r.group_id, r.merged_into_id, r.split_from_id, r.priority, r.tags,
        c.email AS c_email, c.name AS c_name, c.blocked AS c_blocked, c.locale AS c_locale,
        o.name AS o_name, o.email AS o_email, o.role AS o_role,
        mb.id AS mb_id, mb.address AS mb_address`;

/**
 * The request's mailbox (mb) for REQUEST_COLUMNS: its own, or the default mailbox's for
 * mailbox_id NULL (the requests of the default mailbox, and every request from before mailboxes).
 */
const MAILBOX_JOIN = `LEFT JOIN mailboxes mb ON mb.id = COALESCE(r.mailbox_id, (SELECT d.id FROM mailboxes d WHERE d.is_default))`;

/** The SET of an admin's new due date `value` for column `due`, clearing the breach `breached` of a target moved ahead. */
function override(due: string, breached: string, value: string): string {
  return `${due} = ${value},
        ${breached} = CASE WHEN ${value}::timestamptz IS NULL OR ${value}::timestamptz > clock_timestamp()
                           THEN NULL ELSE ${breached} END`;
}

/**
 * The statements of requests, their history (request_events) and the customers that open them
 * (written to requests.repository.sql by `npm run sql`). The request list, built at run time,
 * is in request-query.repository.ts.
 */
export const SQL = {
  /** The select list of a request with its customer and operator (also the request list's, RequestQueryRepository). */
  requestColumns: REQUEST_COLUMNS,
  /** The join of a request's mailbox the select list needs (after `requests r`). */
  mailboxJoin: MAILBOX_JOIN,
  findById: `SELECT ${REQUEST_COLUMNS}
  FROM requests r JOIN customers c ON c.id = r.customer_id LEFT JOIN operators o ON o.id = r.operator_id
  ${MAILBOX_JOIN}
  WHERE r.id = $1`,
  insertEvent: `INSERT INTO request_events (request_id, type, actor, operator_id, data, created_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp())`,
  /** A known name and a known locale are kept ($3: the locale the mail states, or NULL). */
  upsertCustomer: `INSERT INTO customers (email, name, locale) VALUES ($1, $2, $3)
       ON CONFLICT (email) DO UPDATE SET name = COALESCE(customers.name, EXCLUDED.name),
                                         locale = COALESCE(customers.locale, EXCLUDED.locale)
       RETURNING id, email, name, blocked, locale, created_at, updated_at`,
  /** The customer's open request in any mailbox (the callers that name no mailbox). */
  findOpenForCustomer: `SELECT id FROM requests WHERE customer_id = $1 AND status <> 'closed' AND split_from_id IS NULL FOR UPDATE`,
  /** The customer's open request in mailbox $2 (NULL, or the default mailbox's id: the default mailbox, stored as NULL). */
  findOpenForCustomerInMailbox: `SELECT id FROM requests
       WHERE customer_id = $1 AND status <> 'closed' AND split_from_id IS NULL
         AND COALESCE(mailbox_id, 0) = COALESCE(NULLIF($2::integer, (SELECT id FROM mailboxes WHERE is_default)), 0)
       FOR UPDATE`,
  /**
   * Opens a request in mailbox $4 (the default mailbox's id is stored as NULL, so the default
   * mailbox is one key of the one-open-request-per-customer-and-mailbox index), group $5 and priority $6.
   */
  insertOpen: `INSERT INTO requests (customer_id, subject, previous_request_id, mailbox_id, group_id, priority,
                           created_at, updated_at, last_message_at)
         VALUES ($1, $2, $3, NULLIF($4::integer, (SELECT id FROM mailboxes WHERE is_default)), $5, $6,
                 clock_timestamp(), clock_timestamp(), clock_timestamp())
         ON CONFLICT (customer_id, (COALESCE(mailbox_id, 0))) WHERE status <> 'closed' AND split_from_id IS NULL DO NOTHING
         RETURNING id, created_at`,
  writeDueDates: `UPDATE requests SET first_response_due_at = $2, resolution_due_at = $3 WHERE id = $1`,
  /** Only from status $2: no row when the request was not in that state (someone else got there first). */
  transition: `UPDATE requests SET status = $3, updated_at = clock_timestamp(),
              operator_id = COALESCE($4, operator_id),
              closed_at = CASE WHEN $3 = 'closed' THEN clock_timestamp() ELSE closed_at END
       WHERE id = $1 AND status = $2 RETURNING id`,
  lockForUpdate: `SELECT status, operator_id FROM requests WHERE id = $1 FOR UPDATE`,
  countInProgress: `SELECT count(*)::int AS n FROM requests WHERE operator_id = $1 AND status = 'in_progress'`,
  /** A null assignee puts the request back to `new`; no row when it is not in progress. */
  setAssignee: `UPDATE requests SET operator_id = $2, status = CASE WHEN $2::integer IS NULL THEN 'new' ELSE status END,
              updated_at = clock_timestamp()
       WHERE id = $1 AND status = 'in_progress' RETURNING id`,
  /**
   * An admin's override of one target ($2; null removes it): a breach already recorded is cleared
   * when the new target is removed or still ahead, so it may be missed, and reported, again.
   */
  overrideFirstResponseDue: `UPDATE requests
    SET ${override('first_response_due_at', 'sla_breached_first_response_at', '$2')},
        updated_at = clock_timestamp()
    WHERE id = $1`,
  overrideResolutionDue: `UPDATE requests
    SET ${override('resolution_due_at', 'sla_breached_resolution_at', '$2')},
        updated_at = clock_timestamp()
    WHERE id = $1`,
  /** Both targets: first response $2, resolution $3. */
  overrideBothDue: `UPDATE requests
    SET ${override('first_response_due_at', 'sla_breached_first_response_at', '$2')},
        ${override('resolution_due_at', 'sla_breached_resolution_at', '$3')},
        updated_at = clock_timestamp()
    WHERE id = $1`,
  /**
   * Marks up to $1 missed first-response targets of open requests ($2: 'first_response') and writes
   * an `sla_breached` event for each. The inner SELECT picks and locks the rows (SKIP LOCKED: another
   * instance's check takes others); the outer condition is checked again under the lock, so a
   * target is marked, and its event written, once.
   */
  markFirstResponseBreaches: `WITH breached AS (
      UPDATE requests SET sla_breached_first_response_at = clock_timestamp()
      WHERE id IN (SELECT id FROM requests
                   WHERE status <> 'closed' AND first_response_at IS NULL
                     AND first_response_due_at < clock_timestamp() AND sla_breached_first_response_at IS NULL
                   ORDER BY first_response_due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        AND status <> 'closed' AND first_response_at IS NULL
        AND first_response_due_at < clock_timestamp() AND sla_breached_first_response_at IS NULL
      RETURNING id, first_response_due_at AS due_at)
    INSERT INTO request_events (request_id, type, actor, data, created_at)
    SELECT id, 'sla_breached', 'system', jsonb_build_object('kind', $2::text, 'dueAt', due_at), clock_timestamp() FROM breached
    RETURNING request_id`,
  /** As markFirstResponseBreaches, for the resolution targets ($2: 'resolution'). */
  markResolutionBreaches: `WITH breached AS (
      UPDATE requests SET sla_breached_resolution_at = clock_timestamp()
      WHERE id IN (SELECT id FROM requests
                   WHERE status <> 'closed' AND resolution_due_at < clock_timestamp() AND sla_breached_resolution_at IS NULL
                   ORDER BY resolution_due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        AND status <> 'closed' AND resolution_due_at < clock_timestamp() AND sla_breached_resolution_at IS NULL
      RETURNING id, resolution_due_at AS due_at)
    INSERT INTO request_events (request_id, type, actor, data, created_at)
    SELECT id, 'sla_breached', 'system', jsonb_build_object('kind', $2::text, 'dueAt', due_at), clock_timestamp() FROM breached
    RETURNING request_id`,
  rate: `UPDATE requests r SET satisfaction_rating = $2, satisfaction_rated_at = clock_timestamp()
         FROM (SELECT id, satisfaction_rating AS previous FROM requests WHERE id = $1 AND status = 'closed' FOR UPDATE) old
         WHERE r.id = old.id AND old.previous IS DISTINCT FROM $2::smallint
         RETURNING old.previous`,
  /**
   * Where each request of $1 lives now: the end of its chain of merges (merged_into_id), at most
   * $2 hops on (a longer chain ends at the last request reached). A request not merged maps to
   * itself; an unknown id is absent. Mail that threads to a merged request lands on its target.
   */
  followMerges: `WITH RECURSIVE chain (start, id, next, hops) AS (
      SELECT r.id, r.id, r.merged_into_id, 0 FROM requests r WHERE r.id = ANY ($1::int[])
      UNION ALL
      SELECT c.start, r.id, r.merged_into_id, c.hops + 1 FROM chain c JOIN requests r ON r.id = c.next
       WHERE c.hops < $2)
    SELECT DISTINCT ON (start) start, id FROM chain ORDER BY start, hops DESC`,
  isClosed: `SELECT 1 FROM requests WHERE id = $1 AND status = 'closed'`,
  /** Sets the priority of request $1 to $2; the previous one (the row lock held), no row when there is no such request. */
  setPriority: `UPDATE requests r SET priority = $2, updated_at = clock_timestamp()
         FROM (SELECT id, priority AS previous FROM requests WHERE id = $1 FOR UPDATE) old
         WHERE r.id = old.id
         RETURNING old.previous, r.created_at`,
  /** Replaces the tags of request $1 with $2 (normalized, sorted); the previous ones, no row when there is no such request. */
  setTags: `UPDATE requests r SET tags = $2::text[], updated_at = clock_timestamp()
         FROM (SELECT id, tags AS previous FROM requests WHERE id = $1 FOR UPDATE) old
         WHERE r.id = old.id
         RETURNING old.previous`,
  /** Whether an admin ever overrode request $1's due dates (a sla_changed event): then a new priority keeps them. */
  hasDueOverride: `SELECT 1 FROM request_events WHERE request_id = $1 AND type = 'sla_changed' LIMIT 1`,
  /**
   * Tags and how many requests of statuses $1 carry each, within groups $2 (NULL: every request),
   * most used first, at most $3 tags.
   */
  tagCounts: `SELECT t.tag, count(*)::int AS count
       FROM requests r CROSS JOIN LATERAL unnest(r.tags) AS t(tag)
       WHERE r.status = ANY ($1::text[]) AND r.tags <> '{}'
         AND ($2::integer[] IS NULL OR r.group_id = ANY ($2::integer[]))
       GROUP BY t.tag ORDER BY count(*) DESC, t.tag LIMIT $3`,
  /**
   * Request $1 when address $2 may write into it: its customer, one of its participants
   * (request_participants), or the sender of one of its customer messages (a participant an
   * operator removed who wrote before; the people of requests from before participants). The To
   * and Cc of stored messages do not count (an operator's Bcc, a side thread's third party, a
   * recipient past the participant limit never become writers by appearing there).
   * The row is key-share locked until the ingest commits: a customer's erasure (which locks their
   * requests FOR UPDATE) waits for mail already threaded into one of them and erases it too, and
   * mail threading while an erasure runs waits for it and then finds nothing (a fresh start).
   */
  findForParticipant: `SELECT r.id, r.status, r.customer_id FROM requests r JOIN customers c ON c.id = r.customer_id
       WHERE r.id = $1 AND (c.email = $2
         OR EXISTS (SELECT 1 FROM request_participants p WHERE p.request_id = r.id AND p.email = $2)
         OR EXISTS (SELECT 1 FROM messages m WHERE m.request_id = r.id AND m.kind = 'customer' AND m.direction = 'in'
                      AND m.from_address = $2))
       FOR KEY SHARE OF r`,
} as const;

/**
 * A row of SQL.requestColumns: the request's columns, its customer's (c_) and operator's (o_); its
 * timestamps are Dates, or ISO strings when read with ISO_TIMESTAMPS (`D`).
 */
export interface RequestRow<D extends Date | IsoString = Date> {
  id: number | null;
  status: RequestStatus;
  subject: string;
  customer_id: number;
  operator_id: number | null;
  previous_request_id: number | null;
  last_seq: number;
  created_at: D;
  updated_at: D;
  first_response_at: D | null;
  closed_at: D | null;
  last_message_at: D | null;
  first_response_due_at: D | null;
  resolution_due_at: D | null;
  sla_breached_first_response_at: D | null;
  sla_breached_resolution_at: D | null;
  satisfaction_rating: number | null;
  satisfaction_rated_at: D | null;
  mailbox_id: number | null;
  group_id: number | null;
  merged_into_id: number | null;
  split_from_id: number | null;
  /** Absent in rows of statements that do not select it (then 'normal'). */
  priority?: Priority;
  /** Absent in rows of statements that do not select them (then none). */
  tags?: string[];
  c_email: string;
  c_name: string | null;
  c_blocked: boolean;
  /** The customer's locale; absent in rows of statements that do not select it. */
  c_locale?: string | null;
  o_name: string | null;
  o_email: string | null;
  o_role: string | null;
  /** The request's mailbox (the default one for mailbox_id NULL); null only while there is no mailbox row at all. */
  mb_id: number | null;
  mb_address: string | null;
}

/** A row of SQL.requestColumns as the entity shape `toRequestResponse` maps (customer and operator loaded). */
export function requestFromRow(row: RequestRow): ServiceRequest;
export function requestFromRow(row: RequestRow<IsoString>): RequestView;
export function requestFromRow(row: RequestRow<Date | IsoString>): ServiceRequest | RequestView {
  return {
    id: row.id!,
    customerId: row.customer_id,
    customer: {
      id: row.customer_id,
      email: row.c_email,
      name: row.c_name,
      blocked: row.c_blocked,
      locale: row.c_locale ?? null,
    },
    subject: row.subject,
    status: row.status,
    operatorId: row.operator_id,
    operator:
      row.operator_id === null
        ? null
        : { id: row.operator_id, name: row.o_name!, email: row.o_email!, role: row.o_role },
    previousRequestId: row.previous_request_id,
    lastSeq: row.last_seq,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    firstResponseAt: row.first_response_at,
    closedAt: row.closed_at,
    lastMessageAt: row.last_message_at,
    firstResponseDueAt: row.first_response_due_at,
    resolutionDueAt: row.resolution_due_at,
    slaBreachedFirstResponseAt: row.sla_breached_first_response_at,
    slaBreachedResolutionAt: row.sla_breached_resolution_at,
    satisfactionRating: row.satisfaction_rating,
    satisfactionRatedAt: row.satisfaction_rated_at,
    mailboxId: row.mailbox_id,
    mailbox: row.mb_id === null ? null : { id: row.mb_id, address: row.mb_address! },
    groupId: row.group_id,
    mergedIntoId: row.merged_into_id ?? null,
    splitFromId: row.split_from_id ?? null,
    priority: row.priority ?? 'normal',
    tags: row.tags ?? [],
  } as RequestView;
}

function customerFromRow(r: Record<string, unknown>): Customer {
  return Object.assign(new Customer(), {
    id: r.id as number,
    email: r.email as string,
    name: r.name as string | null,
    blocked: r.blocked as boolean,
    locale: (r.locale as string | null) ?? null,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  });
}

/** One entry of a request's history, to be written. */
export interface NewEvent {
  type: RequestEventType;
  actor: EventActor;
  operatorId?: number | null;
  data?: Record<string, unknown>;
}

/** An SLA target: the first operator answer, or the request's resolution. */
export type SlaTarget = 'first_response' | 'resolution';

/** New due dates of an admin's override: a date, null (no target), or undefined (unchanged). */
export interface DueDateChanges {
  firstResponseDueAt?: Date | null;
  resolutionDueAt?: Date | null;
}

/**
 * Where a request opened from inbound mail belongs: its mailbox (null: the default mailbox) and
 * the group (queue) it is worked in (null: none, seen only by admins and operators in no group).
 */
export interface RequestRoute {
  mailboxId: number | null;
  groupId: number | null;
}

/** Status and assignee of a request, as read under its row lock. */
export interface RequestLock {
  status: RequestStatus;
  operatorId: number | null;
}

/**
 * What the request rules need of storage (RequestsService, and RequestLifecycleService for a
 * request's status and assignee; in-memory fakes in unit tests).
 */
export interface RequestsStore {
  /** Runs `work` in one transaction: the methods given its manager run in it. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  /** One request with its customer and operator, or null. */
  findById(id: number, manager?: EntityManager): Promise<ServiceRequest | null>;
  /** The request history, oldest first. */
  listEvents(requestId: number): Promise<RequestEvent[]>;
  insertEvent(requestId: number, event: NewEvent, manager?: EntityManager): Promise<void>;
  /**
   * The customer with this address, created when new; a known name is kept, and so is a known
   * locale (`locale`, from the mail, only fills an unknown one).
   */
  upsertCustomer(
    email: string,
    name: string | null,
    manager?: EntityManager,
    locale?: string | null,
  ): Promise<Customer>;
  /**
   * The customer's open request, row-locked for the caller's transaction, or null: in `mailboxId`
   * when given (null: the default mailbox), else in any mailbox.
   */
  findOpenForCustomer(customerId: number, manager?: EntityManager, mailboxId?: number | null): Promise<number | null>;
  /**
   * Opens a request in the route's mailbox and group (none given: the default mailbox, no group)
   * with `priority` (default normal);
   * null when the customer has an open one in that mailbox already (the partial unique index decides).
   */
  insertOpen(
    customerId: number,
    subject: string,
    previousRequestId: number | null,
    manager?: EntityManager,
    route?: RequestRoute,
    priority?: Priority,
  ): Promise<{ id: number; createdAt: Date } | null>;
  /** Sets both due dates of a new request. */
  writeDueDates(
    requestId: number,
    firstResponseDueAt: Date | null,
    resolutionDueAt: Date | null,
    manager?: EntityManager,
  ): Promise<void>;
  /**
   * Conditional status change: only from `from` to `to`, setting the assignee when given; false
   * when the request was not in that state, so two concurrent takes give one success.
   */
  transition(
    requestId: number,
    from: RequestStatus,
    to: RequestStatus,
    operatorId: number | null,
    manager?: EntityManager,
  ): Promise<boolean>;
  /** Status and assignee, row-locked for the caller's transaction; null when there is no such request. */
  lockForUpdate(requestId: number, manager?: EntityManager): Promise<RequestLock | null>;
  /** Requests in progress assigned to this operator. */
  countInProgress(operatorId: number, manager?: EntityManager): Promise<number>;
  /** Sets the assignee of a request in progress (null: back to `new`); false when it is not in progress. */
  setAssignee(requestId: number, operatorId: number | null, manager?: EntityManager): Promise<boolean>;
  /** An admin's override of the due dates given (at least one); a breach of a target moved ahead is cleared. */
  overrideDueDates(requestId: number, changes: DueDateChanges, manager?: EntityManager): Promise<void>;
  /** Marks up to `batch` missed targets of this kind once each, with their events; how many it marked. */
  markBreaches(target: SlaTarget, batch: number): Promise<number>;
  /** Sets the rating of a closed request; the previous rating, or null when nothing changed (not closed, or the same rating). */
  rate(requestId: number, rating: number, manager?: EntityManager): Promise<{ previous: number | null } | null>;
  /** Where each request lives now, following merges at most `maxHops` on (SQL.followMerges): id -> end of its chain. */
  followMerges(requestIds: number[], maxHops: number, manager?: EntityManager): Promise<Map<number, number>>;
  /** Sets the priority (row-locked); the previous one and the creation time, or null when there is no such request. */
  setPriority(
    requestId: number,
    priority: Priority,
    manager?: EntityManager,
  ): Promise<{ previous: Priority; createdAt: Date } | null>;
  /** Replaces the tags (row-locked); the previous ones, or null when there is no such request. */
  setTags(requestId: number, tags: string[], manager?: EntityManager): Promise<{ previous: string[] } | null>;
  /** Whether an admin overrode the request's due dates (PATCH /requests/:id/sla). */
  hasDueOverride(requestId: number, manager?: EntityManager): Promise<boolean>;
  /** Tags and their counts over requests of `statuses`, within `groupScope` (undefined: all), most used first, at most `limit`. */
  tagCounts(
    statuses: readonly RequestStatus[],
    groupScope: readonly number[] | undefined,
    limit: number,
  ): Promise<Array<{ tag: string; count: number }>>;
  /** Whether the request exists and is closed. */
  isClosed(requestId: number, manager?: EntityManager): Promise<boolean>;
  /** Id, status and customer of a request for its customer or a conversation participant, or null. */
  findForParticipant(
    requestId: number,
    address: string,
    manager?: EntityManager,
  ): Promise<{ id: number; status: RequestStatus; customerId: number } | null>;
}

/**
 * Requests, their history and the customers that open them. Each method runs on the caller's
 * transaction when given its EntityManager, else on its own; a service that needs several in one
 * transaction opens it with `transaction` (DataSource.transaction) and passes the manager on.
 * listEvents is TypeORM's find on the entity; every other statement is in SQL.
 */
@Injectable()
export class RequestsRepository implements RequestsStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async findById(id: number, manager: EntityManager = this.dataSource.manager): Promise<ServiceRequest | null> {
    // Outside a transaction (API reads, the request answered after an action) as a prepared
    // statement; inside one (ingest, auto-replies, notes) on the transaction's connection.
    const rows: RequestRow[] =
      manager === this.dataSource.manager
        ? await preparedQuery(this.dataSource, SQL.findById, [id])
        : await manager.query(SQL.findById, [id]);
    return rows[0] ? requestFromRow(rows[0]) : null;
  }

  listEvents(requestId: number): Promise<RequestEvent[]> {
    return this.dataSource.manager.find(RequestEvent, { where: { requestId }, order: { id: 'ASC' } });
  }

  async insertEvent(
    requestId: number,
    event: NewEvent,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.query(SQL.insertEvent, [
      requestId,
      event.type,
      event.actor,
      event.operatorId ?? null,
      JSON.stringify(event.data ?? {}),
    ]);
    requestEventsWritten(manager);
  }

  async upsertCustomer(
    email: string,
    name: string | null,
    manager: EntityManager = this.dataSource.manager,
    locale: string | null = null,
  ): Promise<Customer> {
    const rows: Array<Record<string, unknown>> = await manager.query(SQL.upsertCustomer, [email, name, locale]);
    return customerFromRow(rows[0]);
  }

  async findOpenForCustomer(
    customerId: number,
    manager: EntityManager = this.dataSource.manager,
    mailboxId?: number | null,
  ): Promise<number | null> {
    const rows: Array<{ id: number }> =
      mailboxId === undefined
        ? await manager.query(SQL.findOpenForCustomer, [customerId])
        : await manager.query(SQL.findOpenForCustomerInMailbox, [customerId, mailboxId]);
    return rows[0]?.id ?? null;
  }

  async insertOpen(
    customerId: number,
    subject: string,
    previousRequestId: number | null,
    manager: EntityManager = this.dataSource.manager,
    route?: RequestRoute,
    priority: Priority = 'normal',
  ): Promise<{ id: number; createdAt: Date } | null> {
    const rows: Array<{ id: number; created_at: Date }> = await manager.query(SQL.insertOpen, [
      customerId,
      subject,
      previousRequestId,
      route?.mailboxId ?? null,
      route?.groupId ?? null,
      priority,
    ]);
    return rows[0] ? { id: rows[0].id, createdAt: new Date(rows[0].created_at) } : null;
  }

  async writeDueDates(
    requestId: number,
    firstResponseDueAt: Date | null,
    resolutionDueAt: Date | null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.query(SQL.writeDueDates, [requestId, firstResponseDueAt, resolutionDueAt]);
  }

  async transition(
    requestId: number,
    from: RequestStatus,
    to: RequestStatus,
    operatorId: number | null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    const [rows]: [Array<{ id: number }>, number] = await manager.query(SQL.transition, [
      requestId,
      from,
      to,
      operatorId,
    ]);
    return rows.length === 1;
  }

  async lockForUpdate(
    requestId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<RequestLock | null> {
    const rows: Array<{ status: RequestStatus; operator_id: number | null }> = await manager.query(SQL.lockForUpdate, [
      requestId,
    ]);
    return rows[0] ? { status: rows[0].status, operatorId: rows[0].operator_id } : null;
  }

  async countInProgress(operatorId: number, manager: EntityManager = this.dataSource.manager): Promise<number> {
    const rows: Array<{ n: number }> = await manager.query(SQL.countInProgress, [operatorId]);
    return rows[0].n;
  }

  async setAssignee(
    requestId: number,
    operatorId: number | null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    const [rows]: [Array<{ id: number }>, number] = await manager.query(SQL.setAssignee, [requestId, operatorId]);
    return rows.length === 1;
  }

  async overrideDueDates(
    requestId: number,
    { firstResponseDueAt: first, resolutionDueAt: resolution }: DueDateChanges,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    if (first !== undefined && resolution !== undefined)
      await manager.query(SQL.overrideBothDue, [requestId, first, resolution]);
    else if (first !== undefined) await manager.query(SQL.overrideFirstResponseDue, [requestId, first]);
    else if (resolution !== undefined) await manager.query(SQL.overrideResolutionDue, [requestId, resolution]);
    else throw new Error('overrideDueDates needs a due date to change');
  }

  async markBreaches(target: SlaTarget, batch: number): Promise<number> {
    const sql = target === 'first_response' ? SQL.markFirstResponseBreaches : SQL.markResolutionBreaches;
    const rows: Array<{ request_id: number }> = await this.dataSource.query(sql, [batch, target]);
    if (rows.length) requestEventsWritten(this.dataSource.manager);
    return rows.length;
  }

  async rate(
    requestId: number,
    rating: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<{ previous: number | null } | null> {
    const [rows]: [Array<{ previous: number | null }>, number] = await manager.query(SQL.rate, [requestId, rating]);
    return rows[0] ? { previous: rows[0].previous } : null;
  }

  async followMerges(
    requestIds: number[],
    maxHops: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<number, number>> {
    if (requestIds.length === 0) return new Map();
    const rows: Array<{ start: number; id: number }> = await manager.query(SQL.followMerges, [requestIds, maxHops]);
    return new Map(rows.map((r) => [r.start, r.id]));
  }

  async setPriority(
    requestId: number,
    priority: Priority,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<{ previous: Priority; createdAt: Date } | null> {
    const [rows]: [Array<{ previous: Priority; created_at: Date }>, number] = await manager.query(SQL.setPriority, [
      requestId,
      priority,
    ]);
    return rows[0] ? { previous: rows[0].previous, createdAt: new Date(rows[0].created_at) } : null;
  }

  async setTags(
    requestId: number,
    tags: string[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<{ previous: string[] } | null> {
    const [rows]: [Array<{ previous: string[] }>, number] = await manager.query(SQL.setTags, [requestId, tags]);
    return rows[0] ? { previous: rows[0].previous } : null;
  }

  async hasDueOverride(requestId: number, manager: EntityManager = this.dataSource.manager): Promise<boolean> {
    const rows: unknown[] = await manager.query(SQL.hasDueOverride, [requestId]);
    return rows.length > 0;
  }

  async tagCounts(
    statuses: readonly RequestStatus[],
    groupScope: readonly number[] | undefined,
    limit: number,
  ): Promise<Array<{ tag: string; count: number }>> {
    return preparedQuery(this.dataSource, SQL.tagCounts, [[...statuses], groupScope ? [...groupScope] : null, limit]);
  }

  async isClosed(requestId: number, manager: EntityManager = this.dataSource.manager): Promise<boolean> {
    const rows: unknown[] = await manager.query(SQL.isClosed, [requestId]);
    return rows.length > 0;
  }

  async findForParticipant(
    requestId: number,
    address: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<{ id: number; status: RequestStatus; customerId: number } | null> {
    const rows: Array<{ id: number; status: RequestStatus; customer_id: number }> = await manager.query(
      SQL.findForParticipant,
      [requestId, address],
    );
    return rows[0] ? { id: rows[0].id, status: rows[0].status, customerId: rows[0].customer_id } : null;
  }
}
