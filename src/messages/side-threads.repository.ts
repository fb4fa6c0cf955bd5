import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { MessageKind } from './message.entity';

/** The statements of side threads (forwards to a third party; written to side-threads.repository.sql by `npm run sql`). */
export const SQL = {
  /** A new side thread of request $1: token $2, the third party's addresses $3, subject $4, operator $5. */
  insert: `INSERT INTO side_threads (request_id, token, addresses, subject, operator_id)
       VALUES ($1, $2, $3::text[], $4, $5) RETURNING id`,
  /** Side thread $2 of request $1: its addresses and subject, or no row. */
  findInRequest: `SELECT id, request_id, addresses, subject FROM side_threads WHERE id = $2 AND request_id = $1`,
  /**
   * The side thread an inbound mail answers: one whose token is among $1, or which holds a message
   * whose Message-ID is among $2, and whose addresses include the sender $3. The newest such
   * thread; no row when the sender is not one of its addresses (a forged or a customer's copy).
   */
  findForReply: `SELECT st.id, st.request_id FROM side_threads st
       WHERE $3 = ANY (st.addresses)
         AND (st.token = ANY ($1::text[])
              OR st.id IN (SELECT m.side_thread_id FROM messages m
                            WHERE m.message_id = ANY ($2::text[]) AND m.side_thread_id IS NOT NULL))
       ORDER BY st.id DESC LIMIT 1`,
  /** The latest message of side thread $1 (ours or the third party's): what a follow-up answers. */
  latestOfThread: `SELECT message_id, "references" FROM messages WHERE side_thread_id = $1 ORDER BY seq DESC LIMIT 1`,
  /**
   * Messages $2 of request $1, in conversation order, text cut at $3 characters (substr reads only
   * that slice of a large TOASTed value): what a forward quotes.
   */
  chosenMessages: `SELECT id, kind, from_address, from_name, to_addresses, cc_addresses, subject, created_at,
              substr(text, 1, $3) AS text, length(text) > $3 AS cut
         FROM messages WHERE request_id = $1 AND id = ANY ($2::int[]) ORDER BY seq`,
  /**
   * The customer-visible conversation of request $1 (customer, operator and auto-reply messages;
   * not notes, system mail or side messages): its latest $2, in conversation order, text cut at $3.
   */
  conversationMessages: `SELECT * FROM (
         SELECT id, seq, kind, from_address, from_name, to_addresses, cc_addresses, subject, created_at,
                substr(text, 1, $3) AS text, length(text) > $3 AS cut
           FROM messages WHERE request_id = $1 AND kind IN ('customer', 'operator', 'auto_reply')
          ORDER BY seq DESC LIMIT $2) latest
       ORDER BY seq`,
  /** Ids and sizes of the attachments of messages $1, oldest first: what a forward carries. */
  attachmentsOf: `SELECT id, size FROM attachments WHERE message_id = ANY ($1::int[]) ORDER BY id`,
} as const;

/** A side thread as the rules need it. */
export interface SideThreadRow {
  id: number;
  requestId: number;
  addresses: string[];
  subject: string;
}

/** A message a forward quotes: its header lines and its text (cut). */
export interface QuotedMessage {
  id: number;
  kind: MessageKind;
  fromAddress: string;
  fromName: string | null;
  to: string[];
  cc: string[];
  subject: string;
  createdAt: Date;
  text: string;
  /** The text was longer and is cut. */
  cut: boolean;
}

/** What the side-thread rules need of storage (SideThreadsService; in the caller's transaction). */
export interface SideThreadsStore {
  insert(
    manager: EntityManager,
    t: { requestId: number; token: string; addresses: string[]; subject: string; operatorId: number | null },
  ): Promise<number>;
  findInRequest(manager: EntityManager, requestId: number, sideThreadId: number): Promise<SideThreadRow | null>;
  findForReply(
    manager: EntityManager,
    tokens: string[],
    messageIds: string[],
    sender: string,
  ): Promise<{ id: number; requestId: number } | null>;
  latestOfThread(
    manager: EntityManager,
    sideThreadId: number,
  ): Promise<{ messageId: string; references: string[] } | null>;
  chosenMessages(manager: EntityManager, requestId: number, ids: number[], cut: number): Promise<QuotedMessage[]>;
  conversationMessages(manager: EntityManager, requestId: number, limit: number, cut: number): Promise<QuotedMessage[]>;
  attachmentsOf(manager: EntityManager, messageIds: number[]): Promise<Array<{ id: number; size: number }>>;
}

interface QuotedRow {
  id: number;
  kind: MessageKind;
  from_address: string;
  from_name: string | null;
  to_addresses: string[];
  cc_addresses: string[];
  subject: string;
  created_at: Date;
  text: string;
  cut: boolean;
}

function quoted(r: QuotedRow): QuotedMessage {
  return {
    id: r.id,
    kind: r.kind,
    fromAddress: r.from_address,
    fromName: r.from_name,
    to: r.to_addresses,
    cc: r.cc_addresses,
    subject: r.subject,
    createdAt: new Date(r.created_at),
    text: r.text,
    cut: r.cut,
  };
}

/** The side_threads table, and the reads of messages and attachments a forward needs. */
@Injectable()
export class SideThreadsRepository implements SideThreadsStore {
  async insert(
    manager: EntityManager,
    t: { requestId: number; token: string; addresses: string[]; subject: string; operatorId: number | null },
  ): Promise<number> {
    const rows: Array<{ id: number }> = await manager.query(SQL.insert, [
      t.requestId,
      t.token,
      t.addresses,
      t.subject,
      t.operatorId,
    ]);
    return rows[0].id;
  }

  async findInRequest(manager: EntityManager, requestId: number, sideThreadId: number): Promise<SideThreadRow | null> {
    const rows: Array<{ id: number; request_id: number; addresses: string[]; subject: string }> = await manager.query(
      SQL.findInRequest,
      [requestId, sideThreadId],
    );
    const r = rows[0];
    return r ? { id: r.id, requestId: r.request_id, addresses: r.addresses, subject: r.subject } : null;
  }

  async findForReply(
    manager: EntityManager,
    tokens: string[],
    messageIds: string[],
    sender: string,
  ): Promise<{ id: number; requestId: number } | null> {
    const rows: Array<{ id: number; request_id: number }> = await manager.query(SQL.findForReply, [
      tokens,
      messageIds,
      sender,
    ]);
    return rows[0] ? { id: rows[0].id, requestId: rows[0].request_id } : null;
  }

  async latestOfThread(
    manager: EntityManager,
    sideThreadId: number,
  ): Promise<{ messageId: string; references: string[] } | null> {
    const rows: Array<{ message_id: string; references: string[] }> = await manager.query(SQL.latestOfThread, [
      sideThreadId,
    ]);
    return rows[0] ? { messageId: rows[0].message_id, references: rows[0].references } : null;
  }

  async chosenMessages(
    manager: EntityManager,
    requestId: number,
    ids: number[],
    cut: number,
  ): Promise<QuotedMessage[]> {
    const rows: QuotedRow[] = await manager.query(SQL.chosenMessages, [requestId, ids, cut]);
    return rows.map(quoted);
  }

  async conversationMessages(
    manager: EntityManager,
    requestId: number,
    limit: number,
    cut: number,
  ): Promise<QuotedMessage[]> {
    const rows: QuotedRow[] = await manager.query(SQL.conversationMessages, [requestId, limit, cut]);
    return rows.map(quoted);
  }

  async attachmentsOf(manager: EntityManager, messageIds: number[]): Promise<Array<{ id: number; size: number }>> {
    if (!messageIds.length) return [];
    const rows: Array<{ id: number; size: number | string }> = await manager.query(SQL.attachmentsOf, [messageIds]);
    return rows.map((r) => ({ id: r.id, size: Number(r.size) }));
  }
}
