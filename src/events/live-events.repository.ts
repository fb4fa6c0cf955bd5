import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { preparedQuery } from '../database/prepared';
import type { RequestStatus } from '../requests/request.entity';
import type { LogRead } from './event-log-cursor';
import { EVENTS_CHANNEL } from './notify-listener';

/** Rows one read of the log returns at most (a literal in the text: a bound LIMIT would be planned for 10% of the table). */
export const LOG_BATCH = 500;

/** The columns of an event with its request's group and status (`ev` request_events, `r` requests). */
const EVENT_COLUMNS = `ev.id::text AS id, ev.request_id, ev.type, ev.actor, ev.operator_id, ev.data, ev.created_at,
         r.group_id, r.status`;

/**
 * The statements of the live events (written to live-events.repository.sql by `npm run sql`):
 * reads of request_events, the requests module's history table, as the event log. Read only (but
 * the notification); the rows are written by RequestsRepository.
 */
export const SQL = {
  /**
   * Tells every instance's LISTEN that events were committed: its own statement, after the commits
   * (LiveEventsService.announce). A transaction that only notifies writes no WAL and waits for no
   * flush; a NOTIFY inside the writing transaction serialized the commits (migration 1765000000000).
   */
  announce: `SELECT pg_notify('${EVENTS_CHANNEL}', '')`,
  /** The newest id (0 when the log is empty): where the hub starts, a window below. */
  latestId: `SELECT COALESCE(max(id), 0)::text AS id FROM request_events`,
  /**
   * Up to LOG_BATCH events after id $1 in id order, with the snapshot of this very statement
   * (EventLogCursor decides from its xmin and xmax which missing ids are final). One row with
   * NULL event columns when there is none.
   */
  readAfter: `WITH snap AS (SELECT pg_current_snapshot() AS s)
    SELECT pg_snapshot_xmin(snap.s)::text AS xmin, pg_snapshot_xmax(snap.s)::text AS xmax, e.*
      FROM snap LEFT JOIN LATERAL (
        SELECT ${EVENT_COLUMNS}
          FROM request_events ev JOIN requests r ON r.id = ev.request_id
         WHERE ev.id > $1::bigint
         ORDER BY ev.id LIMIT ${LOG_BATCH}) e ON true
     ORDER BY e.id::bigint`,
  /**
   * A resuming stream's missed events: ids after $1 up to $2 (final: the hub's position), of the
   * groups $3 (NULL: every request), up to LOG_BATCH in id order.
   */
  replay: `SELECT ${EVENT_COLUMNS}
      FROM request_events ev JOIN requests r ON r.id = ev.request_id
     WHERE ev.id > $1::bigint AND ev.id <= $2::bigint AND ($3::integer[] IS NULL OR r.group_id = ANY ($3::integer[]))
     ORDER BY ev.id LIMIT ${LOG_BATCH}`,
} as const;

/** One event of the log as streams send it (the `data:` of an SSE event). */
export interface LiveEvent {
  /** request_events.id: also the SSE `id:`, what a client resumes from (Last-Event-ID). */
  id: number;
  requestId: number;
  type: string;
  actor: string;
  operatorId: number | null;
  data: Record<string, unknown>;
  createdAt: string;
  /** The request's group (null: none) and status when the event was read, not when it happened. */
  groupId: number | null;
  status: RequestStatus;
}

interface EventRow {
  id: string;
  request_id: number;
  type: string;
  actor: string;
  operator_id: number | null;
  data: Record<string, unknown>;
  created_at: Date;
  group_id: number | null;
  status: RequestStatus;
}

function eventFromRow(r: EventRow): LiveEvent {
  return {
    id: Number(r.id),
    requestId: r.request_id,
    type: r.type,
    actor: r.actor,
    operatorId: r.operator_id,
    data: r.data,
    createdAt: new Date(r.created_at).toISOString(),
    groupId: r.group_id,
    status: r.status,
  };
}

/** What the hub and the streams need of the log (LiveEventsRepository; an in-memory fake in unit tests). */
export interface EventLogStore {
  /** Rows one readAfter returns at most: a shorter read reached the end. */
  readonly batch: number;
  /** The newest id, committed or not (0: none). */
  latestId(): Promise<number>;
  /** Up to LOG_BATCH events after `position`, in id order, with the statement's snapshot bounds. */
  readAfter(position: number): Promise<LogRead<LiveEvent>>;
  /** Events after `after` up to `upTo`, of `groups` (null: all), up to LOG_BATCH, in id order. */
  replay(after: number, upTo: number, groups: readonly number[] | null): Promise<LiveEvent[]>;
}

/** The event log on the app's pool. */
@Injectable()
export class LiveEventsRepository implements EventLogStore {
  readonly batch = LOG_BATCH;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async announce(): Promise<void> {
    await this.dataSource.query(SQL.announce);
  }

  async latestId(): Promise<number> {
    const rows = await preparedQuery<{ id: string }>(this.dataSource, SQL.latestId, []);
    return Number(rows[0].id);
  }

  async readAfter(position: number): Promise<LogRead<LiveEvent>> {
    const rows = await preparedQuery<Partial<EventRow> & { xmin: string; xmax: string }>(
      this.dataSource,
      SQL.readAfter,
      [String(position)],
    );
    return {
      xmin: BigInt(rows[0].xmin),
      xmax: BigInt(rows[0].xmax),
      rows: rows.filter((r) => r.id != null).map((r) => eventFromRow(r as EventRow)),
    };
  }

  async replay(after: number, upTo: number, groups: readonly number[] | null): Promise<LiveEvent[]> {
    const rows = await preparedQuery<EventRow>(this.dataSource, SQL.replay, [
      String(after),
      String(upTo),
      groups ? [...groups] : null,
    ]);
    return rows.map(eventFromRow);
  }
}
