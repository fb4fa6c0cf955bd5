import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { MessageKind } from '../messages/message.entity';
import type { RequestStatus } from './request.entity';

/**
 * A request's search text as RequestSearchVector built it (the sender of customer messages, the
 * subject and text of customer, operator and note messages, in conversation order), over the
 * messages `m` of the statement, at most 500,000 characters (a tsvector holds at most 1 MB).
 */
export const SEARCH_VECTOR_OF_MESSAGES = `coalesce(strip(to_tsvector('simple', left(string_agg(
           left(CASE WHEN m.kind = 'customer' THEN m.from_address || ' ' ELSE '' END || m.subject || ' ' || m.text, 10000),
           ' ' ORDER BY m.seq) FILTER (WHERE m.kind IN ('customer', 'operator', 'note')), 500000))), ''::tsvector)`;

/**
 * The statements of merging a request into another and splitting a request off another (written
 * to request-merge.repository.sql by `npm run sql`). Each runs in the caller's transaction, after
 * lockRequests has locked the rows it changes; `(request_id, seq)` is checked at commit
 * (deferConversationNumbers), so one UPDATE renumbers a conversation.
 */
export const SQL = {
  /**
   * Locks the requests $1 in id order, so two merges of the same pair in opposite directions
   * (A into B, B into A) queue on the lower id instead of deadlocking.
   */
  lockRequests: `SELECT id, status, merged_into_id, customer_id, group_id FROM requests
    WHERE id = ANY ($1::int[]) ORDER BY id FOR UPDATE`,
  /** The message numbers `(request_id, seq)` are checked at commit, not per row, in this transaction. */
  deferConversationNumbers: `SET CONSTRAINTS messages_request_seq_key DEFERRED`,
  /**
   * Moves the messages of request $1 into request $2 and renumbers $2's conversation 1..n in the
   * order the messages were stored (created_at, then id): a reader sees one conversation in time
   * order. Attachments follow their messages (attachments.message_id). `was` says which request
   * each message came from.
   */
  mergeMessages: `WITH ordered AS (
      SELECT id, request_id AS was, row_number() OVER (ORDER BY created_at, id)::int AS n
        FROM messages WHERE request_id IN ($1, $2))
    UPDATE messages m SET request_id = $2, seq = o.n FROM ordered o WHERE m.id = o.id
    RETURNING m.id, o.was`,
  /** The history of request $1 moves to request $2 (the merge events are written after). */
  mergeEvents: `UPDATE request_events SET request_id = $2 WHERE request_id = $1`,
  /** The side threads of request $1 move to request $2: a third party's answer lands on the target. */
  mergeSideThreads: `UPDATE side_threads SET request_id = $2 WHERE request_id = $1`,
  /** The received mails filed on request $1 point at request $2, where their messages now are. */
  mergeInboundMail: `UPDATE inbound_mail SET request_id = $2 WHERE request_id = $1`,
  /**
   * The participants of request $1, and its customer, become participants of request $2 (source
   * 'merge'; the target's own customer and those already on it are skipped), so the target's
   * replies Cc everyone who wrote on either conversation.
   */
  mergeParticipants: `INSERT INTO request_participants (request_id, email, name, source)
    SELECT $2, p.email, p.name, 'merge' FROM (
        SELECT email, name FROM request_participants WHERE request_id = $1
        UNION ALL
        SELECT c.email, left(c.name, 200) FROM requests s JOIN customers c ON c.id = s.customer_id WHERE s.id = $1) p
     WHERE length(p.email) BETWEEN 3 AND 320
       AND p.email <> (SELECT c.email FROM requests t JOIN customers c ON c.id = t.customer_id WHERE t.id = $2)
    ON CONFLICT (request_id, email) DO NOTHING`,
  /**
   * Request $2 after taking request $1's messages: $3 messages, the two search vectors together,
   * the later last activity; its first response stays its own.
   */
  mergeTarget: `UPDATE requests t SET last_seq = $3, search_vector = t.search_vector || s.search_vector,
        last_message_at = GREATEST(t.last_message_at, s.last_message_at), updated_at = clock_timestamp()
      FROM requests s WHERE t.id = $2 AND s.id = $1`,
  /**
   * Request $1 merged into $2: closed (a request closed before keeps its closed_at), no messages
   * left, nothing to find by search. No closing mail: this is not the lifecycle's close.
   */
  closeMerged: `UPDATE requests SET status = 'closed', merged_into_id = $2, last_seq = 0, search_vector = ''::tsvector,
        closed_at = CASE WHEN status = 'closed' THEN closed_at ELSE clock_timestamp() END, updated_at = clock_timestamp()
      WHERE id = $1`,
  /** A message of request $2 by its id $1 (the point a split starts at), or no row. */
  findMessage: `SELECT id, seq, kind, subject FROM messages WHERE id = $1 AND request_id = $2`,
  /**
   * The ids of the messages a split of request $1 at message $2 (number $4) takes: that one, and
   * with $3 every later one, in conversation order; and how many the request holds.
   */
  splitMessageIds: `SELECT coalesce(array_agg(id ORDER BY seq) FILTER (WHERE id = $2 OR ($3::boolean AND seq > $4)), '{}') AS ids,
         count(*)::int AS total
      FROM messages WHERE request_id = $1`,
  /**
   * A request split off request $1 with subject $2: its customer, mailbox and group, status new.
   * split_from_id keeps it outside the one-open-request index (the customer's open request stays).
   */
  insertSplit: `INSERT INTO requests (customer_id, subject, status, mailbox_id, group_id, split_from_id,
                          created_at, updated_at, last_message_at)
      SELECT customer_id, $2, 'new', mailbox_id, group_id, id, clock_timestamp(), clock_timestamp(), clock_timestamp()
        FROM requests WHERE id = $1
      RETURNING id, created_at`,
  /** Moves the messages $3 of request $1 to request $2, numbered 1..n in their old order. */
  splitMessages: `WITH moved AS (
      SELECT id, row_number() OVER (ORDER BY seq)::int AS n FROM messages WHERE request_id = $1 AND id = ANY ($3::int[]))
    UPDATE messages m SET request_id = $2, seq = moved.n FROM moved WHERE m.id = moved.id`,
  /** The received mails of the messages $2 point at request $1, where the messages now are. */
  splitInboundMail: `UPDATE inbound_mail SET request_id = $1 WHERE message_row_id = ANY ($2::int[])`,
  /** Renumbers the messages request $1 kept 1..n in their order (no gaps where the moved ones were). */
  renumber: `WITH kept AS (SELECT id, row_number() OVER (ORDER BY seq)::int AS n FROM messages WHERE request_id = $1)
    UPDATE messages m SET seq = kept.n FROM kept WHERE m.id = kept.id AND m.seq <> kept.n`,
  /**
   * Request $1's counters from the messages it holds: the last number, the last activity (the
   * latest inbound message, else the latest), the first operator answer, its search vector.
   */
  recount: `UPDATE requests r SET last_seq = x.n, updated_at = clock_timestamp(),
        last_message_at = coalesce(x.last_in, x.last_any, r.last_message_at),
        first_response_at = x.first_response, search_vector = x.vector
      FROM (SELECT count(*)::int AS n, max(m.created_at) FILTER (WHERE m.direction = 'in') AS last_in,
                   max(m.created_at) AS last_any, min(m.created_at) FILTER (WHERE m.kind = 'operator') AS first_response,
                   ${SEARCH_VECTOR_OF_MESSAGES} AS vector
              FROM messages m WHERE m.request_id = $1) x
      WHERE r.id = $1`,
  /** Request $1's last message number and search text from the messages left (some were erased from it). */
  reindex: `UPDATE requests r SET last_seq = x.n, search_vector = x.vector
      FROM (SELECT count(*)::int AS n, ${SEARCH_VECTOR_OF_MESSAGES} AS vector FROM messages m WHERE m.request_id = $1) x
      WHERE r.id = $1`,
  /** The SLA due dates of a request split off another ($2 first response, $3 resolution), as for a new request. */
  writeDueDates: `UPDATE requests SET first_response_due_at = $2, resolution_due_at = $3 WHERE id = $1`,
  /** Request $1's last message number after a split took some away. */
  writeLastSeq: `UPDATE requests SET last_seq = (SELECT count(*) FROM messages WHERE request_id = $1), updated_at = clock_timestamp()
      WHERE id = $1`,
} as const;

/** A request as a merge or a split reads it under its row lock. */
export interface LockedRequest {
  id: number;
  status: RequestStatus;
  mergedIntoId: number | null;
  customerId: number;
  groupId: number | null;
}

/** A message a split starts at. */
export interface SplitPoint {
  id: number;
  seq: number;
  kind: MessageKind;
  subject: string;
}

/** What the merge and split rules need of storage (RequestMergeRepository; an in-memory fake in unit tests). */
export interface RequestMergeStore {
  /** Runs `work` in one transaction. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  /** The requests of `ids` that exist, row-locked in id order. */
  lockRequests(ids: number[], manager: EntityManager): Promise<LockedRequest[]>;
  /**
   * Moves everything of `sourceId` into `targetId` (messages renumbered in time order, their
   * attachments, history, side threads, received mails, participants and the customer as one)
   * and closes the source as merged. Both rows must be locked. Returns how many messages moved.
   */
  merge(sourceId: number, targetId: number, manager: EntityManager): Promise<number>;
  /** A message of the request by id, or null. */
  findMessage(requestId: number, messageId: number, manager: EntityManager): Promise<SplitPoint | null>;
  /** The ids a split at `point` takes (it alone, or with `following` every later one), and the request's message count. */
  splitMessageIds(
    requestId: number,
    point: SplitPoint,
    following: boolean,
    manager: EntityManager,
  ): Promise<{ ids: number[]; total: number }>;
  /**
   * Opens a request split off `sourceId` with `subject` and moves the messages `messageIds` into
   * it; both conversations are renumbered without gaps. Returns the new request's id and creation time.
   */
  split(
    sourceId: number,
    subject: string,
    messageIds: number[],
    manager: EntityManager,
  ): Promise<{ id: number; createdAt: Date }>;
  /** Sets both due dates of a request split off another. */
  writeDueDates(
    requestId: number,
    firstResponseDueAt: Date | null,
    resolutionDueAt: Date | null,
    manager: EntityManager,
  ): Promise<void>;
  /**
   * The conversations of `requestIds` (locked by the caller), some of whose messages were deleted:
   * numbered 1..n again in order, their last number and search text from what is left.
   */
  renumberAfterRemoval(requestIds: number[], manager: EntityManager): Promise<void>;
}

/** Storage of merges and splits: the SQL statements above, in the caller's transaction. */
@Injectable()
export class RequestMergeRepository implements RequestMergeStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async lockRequests(ids: number[], manager: EntityManager): Promise<LockedRequest[]> {
    const rows: Array<{
      id: number;
      status: RequestStatus;
      merged_into_id: number | null;
      customer_id: number;
      group_id: number | null;
    }> = await manager.query(SQL.lockRequests, [ids]);
    return rows.map((r) => ({
      id: r.id,
      status: r.status,
      mergedIntoId: r.merged_into_id,
      customerId: r.customer_id,
      groupId: r.group_id,
    }));
  }

  async merge(sourceId: number, targetId: number, manager: EntityManager): Promise<number> {
    await manager.query(SQL.deferConversationNumbers);
    // An UPDATE ... RETURNING answers [rows, affected count] through the driver.
    const [rows]: [Array<{ id: number; was: number }>, number] = await manager.query(SQL.mergeMessages, [
      sourceId,
      targetId,
    ]);
    const moved = rows.filter((r) => r.was === sourceId).length;
    await manager.query(SQL.mergeEvents, [sourceId, targetId]);
    await manager.query(SQL.mergeSideThreads, [sourceId, targetId]);
    await manager.query(SQL.mergeInboundMail, [sourceId, targetId]);
    await manager.query(SQL.mergeParticipants, [sourceId, targetId]);
    await manager.query(SQL.mergeTarget, [sourceId, targetId, rows.length]);
    await manager.query(SQL.closeMerged, [sourceId, targetId]);
    return moved;
  }

  async findMessage(requestId: number, messageId: number, manager: EntityManager): Promise<SplitPoint | null> {
    const rows: SplitPoint[] = await manager.query(SQL.findMessage, [messageId, requestId]);
    return rows[0] ?? null;
  }

  async splitMessageIds(
    requestId: number,
    point: SplitPoint,
    following: boolean,
    manager: EntityManager,
  ): Promise<{ ids: number[]; total: number }> {
    const rows: Array<{ ids: number[]; total: number }> = await manager.query(SQL.splitMessageIds, [
      requestId,
      point.id,
      following,
      point.seq,
    ]);
    return { ids: rows[0].ids.map(Number), total: rows[0].total };
  }

  async split(
    sourceId: number,
    subject: string,
    messageIds: number[],
    manager: EntityManager,
  ): Promise<{ id: number; createdAt: Date }> {
    const [opened]: Array<{ id: number; created_at: Date }> = await manager.query(SQL.insertSplit, [sourceId, subject]);
    await manager.query(SQL.deferConversationNumbers);
    await manager.query(SQL.splitMessages, [sourceId, opened.id, messageIds]);
    await manager.query(SQL.splitInboundMail, [opened.id, messageIds]);
    await manager.query(SQL.renumber, [sourceId]);
    await manager.query(SQL.writeLastSeq, [sourceId]);
    await manager.query(SQL.recount, [opened.id]);
    return { id: opened.id, createdAt: new Date(opened.created_at) };
  }

  async writeDueDates(
    requestId: number,
    firstResponseDueAt: Date | null,
    resolutionDueAt: Date | null,
    manager: EntityManager,
  ): Promise<void> {
    await manager.query(SQL.writeDueDates, [requestId, firstResponseDueAt, resolutionDueAt]);
  }

  async renumberAfterRemoval(requestIds: number[], manager: EntityManager): Promise<void> {
    if (!requestIds.length) return;
    await manager.query(SQL.deferConversationNumbers);
    for (const requestId of requestIds) {
      await manager.query(SQL.renumber, [requestId]);
      await manager.query(SQL.reindex, [requestId]);
    }
  }
}
