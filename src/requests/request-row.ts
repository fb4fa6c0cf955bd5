import type { IsoString } from '../database/timestamps';
import type { RequestView } from './dto/request.dto';
import type { RequestStatus, ServiceRequest } from './request.entity';

/**
 * The columns of a request with its customer (c_) and operator (o_), for a statement over
 * `requests r JOIN customers c ... LEFT JOIN operators o ...`: read with plain SQL and mapped by
 * requestFromRow, without the entity query builder (its SQL building and hydration cost more CPU
 * than the statement on the hot paths: the queue, every auto-reply).
 */
export const REQUEST_COLUMNS = `r.id, r.status, r.subject, r.customer_id, r.operator_id, r.previous_request_id,
        r.last_seq, r.created_at, r.updated_at, r.first_response_at, r.closed_at, r.last_message_at,
        r.first_response_due_at, r.resolution_due_at, r.sla_breached_first_response_at,
        r.sla_breached_resolution_at, r.satisfaction_rating, r.satisfaction_rated_at,
        c.email AS c_email, c.name AS c_name, c.blocked AS c_blocked,
        o.name AS o_name, o.email AS o_email, o.role AS o_role`;

/**
 * A row of REQUEST_COLUMNS: the request's columns, its customer's (c_) and operator's (o_); its
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
  c_email: string;
  c_name: string | null;
  c_blocked: boolean;
  o_name: string | null;
  o_email: string | null;
  o_role: string | null;
}

/** A row of REQUEST_COLUMNS as the entity shape `toRequestResponse` maps (customer and operator loaded). */
export function requestFromRow(row: RequestRow): ServiceRequest;
export function requestFromRow(row: RequestRow<IsoString>): RequestView;
export function requestFromRow(row: RequestRow<Date | IsoString>): ServiceRequest | RequestView {
  return {
    id: row.id!,
    customerId: row.customer_id,
    customer: { id: row.customer_id, email: row.c_email, name: row.c_name, blocked: row.c_blocked },
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
  } as RequestView;
}
