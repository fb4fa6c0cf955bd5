import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { Attachment } from './attachment.entity';
import { Message, MessageDirection, MessageKind, SenderSource } from './message.entity';

/** The statements of the messages table and its attachments (written to messages.repository.sql by `npm run sql`). */
export const SQL = {
  /**
   * One statement: reserves the next message number on request $1 (its row lock until commit keeps
   * `seq` gapless), touches its activity times ($2: direction 'in' or 'out'; $3: whether this is the
   * first response) and appends $4 to its search vector (positions stripped, at most 10,000
   * characters per message; '' adds nothing), then inserts the message with that number. No row
   * when the request does not exist.
   */
  append: `WITH s AS (UPDATE requests SET last_seq = last_seq + 1, updated_at = clock_timestamp(),
         last_message_at = CASE WHEN $2 = 'in' OR last_message_at IS NULL THEN clock_timestamp() ELSE last_message_at END,
         first_response_at = CASE WHEN $3::boolean AND first_response_at IS NULL THEN clock_timestamp() ELSE first_response_at END,
         search_vector = CASE WHEN $4 = '' THEN search_vector ELSE search_vector || strip(to_tsvector('simple', left($4, 10000))) END
       WHERE id = $1 RETURNING last_seq)
       INSERT INTO messages (request_id, seq, direction, kind, operator_id, from_address, from_name, to_addresses,
                             cc_addresses, subject, text, html, message_id, in_reply_to, "references", created_at,
                             sender_source, bcc_addresses, visible_text, safe_html, side_thread_id)
       SELECT $1, s.last_seq, $2, $5::text, $6::int, $7::text, $8::text, $9::text[], $10::text[], $11::text, $12::text,
              $13::text, $14::text, $15::text, $16::text[], clock_timestamp(), $17::text, $18::text[], $19::text,
              $20::text, $21::int FROM s
       RETURNING id, seq, created_at`,
  /**
   * Locks request $1's row until the transaction ends, as the append statement would: a write that
   * must first look at the conversation (lastSeenMessageId) sees every message committed before it
   * and none can slip in between its look and its append.
   */
  lockRequest: `SELECT id FROM requests WHERE id = $1 FOR UPDATE`,
  /** The seq of message $2 in request $1's conversation (no row: not one of its messages). */
  seqInRequest: `SELECT seq FROM messages WHERE id = $2 AND request_id = $1`,
  /**
   * Collision detection: the messages of request $1 after seq $2 that someone other than operator
   * $3 wrote (customer mail, other operators' messages and notes, side-thread mail, bounces; the
   * desk's automatic answers and the operator's own messages do not count), the first $4 of them,
   * each with the count of all.
   */
  writtenSince: `SELECT id, seq, kind, operator_id, from_address, from_name, created_at, count(*) OVER () AS total
      FROM messages
     WHERE request_id = $1 AND seq > $2 AND kind <> 'auto_reply' AND operator_id IS DISTINCT FROM $3
     ORDER BY seq LIMIT $4`,
  /** The bytes are in the blob store under sha256 (BlobsService.put before the transaction; the foreign key checks). */
  insertAttachment: `INSERT INTO attachments (message_id, filename, content_type, size, sha256, content_id)
         VALUES ($1,$2,$3,$4,$5,$6)`,
  /** The group of the request an attachment belongs to (a download by an operator in groups). */
  attachmentGroup: `SELECT r.group_id FROM attachments a JOIN messages m ON m.id = a.message_id
       JOIN requests r ON r.id = m.request_id WHERE a.id = $1`,
  requestIdsForMessageIds: `SELECT DISTINCT request_id FROM messages WHERE message_id = ANY ($1)`,
  requestIdsForOwnMessageIds: `SELECT DISTINCT request_id FROM messages WHERE message_id = ANY ($1) AND direction = 'out'`,
  /** The latest inbound message of the request's own conversation (a third party's side mail is not one). */
  latestInbound: `SELECT message_id, "references" FROM messages WHERE request_id = $1 AND direction = 'in' AND kind <> 'side'
       ORDER BY seq DESC LIMIT 1`,
  /**
   * Up to `limit` ($3) + 1 messages after seq $2, text and html cut at $4 characters (substr reads
   * only that slice of a large TOASTed value), then as many as fit in $5 bytes of bodies (at least
   * one). `fetched` says how many the first step found, so the caller knows whether more follow.
   * The raw html is read only for rows without safe_html (older rows, sanitized on read); the
   * HTML's `truncated` is that of what is served (safe_html, else html).
   */
  conversationPage: `
  WITH cut AS (
    SELECT id, request_id, seq, direction, kind, operator_id, from_address, from_name, sender_source, to_addresses,
           cc_addresses, bcc_addresses, subject, message_id, in_reply_to, "references", created_at, sent_at,
           side_thread_id, substr(text, 1, $4) AS text,
           CASE WHEN safe_html IS NULL THEN substr(html, 1, $4) END AS html,
           substr(safe_html, 1, $4) AS safe_html, substr(visible_text, 1, $4) AS visible_text,
           substr(text, $4 + 1, 1) <> '' OR coalesce(substr(coalesce(safe_html, html), $4 + 1, 1) <> '', false) AS truncated
      FROM messages WHERE request_id = $1 AND seq > $2 ORDER BY seq LIMIT $3 + 1),
  sized AS (
    SELECT cut.*, sum(octet_length(text) + coalesce(octet_length(html), 0) + coalesce(octet_length(safe_html), 0)
                      + coalesce(octet_length(visible_text), 0)) OVER (ORDER BY seq) AS running,
           row_number() OVER (ORDER BY seq) AS n, count(*) OVER () AS fetched
      FROM cut)
  SELECT * FROM sized WHERE n <= $3 AND (n = 1 OR running <= $5) ORDER BY seq`,
} as const;

/** A file to store with a message. */
export interface NewAttachment {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  contentId: string | null;
  content: Buffer;
}

/** A message to append to a request's conversation. */
export interface NewMessage {
  requestId: number;
  direction: MessageDirection;
  kind: MessageKind;
  operatorId?: number | null;
  fromAddress: string;
  fromName?: string | null;
  /** Inbound mail: where the sender address was found (From or a fallback); null for ours. */
  senderSource?: SenderSource | null;
  to: string[];
  cc?: string[];
  /** An operator's Bcc: stored for operators to see, never in a header. */
  bcc?: string[];
  subject: string;
  text: string;
  /** The HTML as written or received. */
  html?: string | null;
  /** The HTML after the allow-list: what clients get. */
  safeHtml?: string | null;
  /** Inbound mail: the new text without quoted history and signature (null: the same as text). */
  visibleText?: string | null;
  /** The side thread (forward to a third party) the message belongs to. */
  sideThreadId?: number | null;
  messageId: string;
  inReplyTo?: string | null;
  references?: string[];
  attachments?: NewAttachment[];
  /** Marks the request's first response (an operator's first message). */
  firstResponse?: boolean;
}

/** What the append statement gives back: the new row's id, its number in the conversation and its time. */
export interface AppendedRow {
  id: number;
  seq: number;
  createdAt: Date;
}

/** The message `m` as stored by the append statement, which gave it `row`. */
export function appendedMessage(m: NewMessage, row: AppendedRow): Message {
  return Object.assign(new Message(), {
    id: row.id,
    requestId: m.requestId,
    seq: row.seq,
    direction: m.direction,
    kind: m.kind,
    operatorId: m.operatorId ?? null,
    fromAddress: m.fromAddress,
    fromName: m.fromName ?? null,
    senderSource: m.senderSource ?? null,
    toAddresses: m.to,
    ccAddresses: m.cc ?? [],
    bccAddresses: m.bcc ?? [],
    subject: m.subject,
    text: m.text,
    html: m.html ?? null,
    safeHtml: m.safeHtml ?? null,
    visibleText: m.visibleText ?? null,
    sideThreadId: m.sideThreadId ?? null,
    messageId: m.messageId,
    inReplyTo: m.inReplyTo ?? null,
    references: m.references ?? [],
    createdAt: row.createdAt,
    sentAt: null,
  });
}

/** One message of a conversation page: text and html cut, and whether they were. */
export interface PageMessage {
  message: Message;
  truncated: boolean;
}

/** The messages of one conversation page, and how many the statement fetched before the byte budget. */
export interface PageRows {
  messages: PageMessage[];
  fetched: number;
}

/** A conversation page's row: the message with text and html cut, whether they were, and the page's counters. */
interface PageRow {
  id: number;
  request_id: number;
  seq: number;
  direction: MessageDirection;
  kind: MessageKind;
  operator_id: number | null;
  from_address: string;
  from_name: string | null;
  sender_source: SenderSource | null;
  to_addresses: string[];
  cc_addresses: string[];
  bcc_addresses: string[];
  subject: string;
  text: string;
  html: string | null;
  safe_html: string | null;
  visible_text: string | null;
  side_thread_id: number | null;
  message_id: string;
  in_reply_to: string | null;
  references: string[];
  created_at: Date;
  sent_at: Date | null;
  truncated: boolean;
  fetched: string;
}

function fromPageRow(r: PageRow): Message {
  return Object.assign(new Message(), {
    id: r.id,
    requestId: r.request_id,
    seq: r.seq,
    direction: r.direction,
    kind: r.kind,
    operatorId: r.operator_id,
    fromAddress: r.from_address,
    fromName: r.from_name,
    senderSource: r.sender_source,
    toAddresses: r.to_addresses,
    ccAddresses: r.cc_addresses,
    bccAddresses: r.bcc_addresses,
    subject: r.subject,
    text: r.text,
    html: r.html,
    safeHtml: r.safe_html,
    visibleText: r.visible_text,
    sideThreadId: r.side_thread_id,
    messageId: r.message_id,
    inReplyTo: r.in_reply_to,
    references: r.references,
    createdAt: r.created_at,
    sentAt: r.sent_at,
  });
}

/** A message written since the one an operator last saw (collision detection; MessagesStore.writtenSince). */
export interface WrittenSince {
  id: number;
  seq: number;
  kind: MessageKind;
  operatorId: number | null;
  fromAddress: string;
  fromName: string | null;
  createdAt: Date;
}

/** What MessagesStore.writtenSince found: null when the message seen is not one of the request's. */
export type WrittenSinceResult = { messages: WrittenSince[]; total: number } | null;

/** What the conversation rules need of storage (MessagesService, ConversationService, NotesService; an in-memory fake in unit tests). */
export interface MessagesStore {
  /** Runs `work` in one transaction: the changes and the mail they cause commit together. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  /**
   * Appends a message with the request's next seq, in the caller's transaction, and touches the
   * request (activity times, the first response, `searchText` added to its search vector). Null
   * when the request does not exist.
   */
  append(manager: EntityManager, m: NewMessage, searchText: string): Promise<AppendedRow | null>;
  /**
   * Collision detection, in the caller's transaction: locks the request's row (so nothing is
   * appended until it ends), then gives the first `limit` messages after `lastSeenMessageId` that
   * someone other than operator `operatorId` wrote (automatic answers aside), and how many there
   * are. Null when that message is not one of the request's.
   */
  writtenSince(
    manager: EntityManager,
    requestId: number,
    lastSeenMessageId: number,
    operatorId: number,
    limit: number,
  ): Promise<WrittenSinceResult>;
  /** Stores one file of message `messageId`, in the caller's transaction. */
  insertAttachment(manager: EntityManager, messageId: number, a: NewAttachment): Promise<void>;
  /** The requests whose conversations hold any of these Message-IDs. */
  requestIdsForMessageIds(manager: EntityManager, messageIds: string[]): Promise<number[]>;
  /** The requests whose outgoing messages carry any of these Message-IDs. */
  requestIdsForOwnMessageIds(manager: EntityManager, messageIds: string[]): Promise<number[]>;
  /** Message-ID and References of the latest inbound message of a request, or null. */
  latestInbound(manager: EntityManager, requestId: number): Promise<Pick<Message, 'messageId' | 'references'> | null>;
  /**
   * Up to `limit` messages after seq `after`, text and html cut at `cut` characters, as many as fit
   * in `budget` bytes of bodies (at least one).
   */
  conversationPage(requestId: number, after: number, limit: number, cut: number, budget: number): Promise<PageRows>;
  /** The attachments (metadata, without their bytes) of one message or of several, oldest first. */
  attachmentsOf(messageIds: number | number[]): Promise<Attachment[]>;
  /** One message of a request, whole, or null. */
  findInRequest(requestId: number, messageId: number): Promise<Message | null>;
  /** One message, whole; throws when there is none with this id. */
  get(messageId: number): Promise<Message>;
  /** An attachment with its stored bytes, or null. */
  attachmentWithContent(id: number): Promise<Attachment | null>;
  /** The group of the request of an attachment (null: in no group), or null when there is no such attachment. */
  attachmentGroup(id: number): Promise<{ groupId: number | null } | null>;
}

/** The messages table and its attachments: a request's conversation. */
@Injectable()
export class MessagesRepository implements MessagesStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async append(manager: EntityManager, m: NewMessage, searchText: string): Promise<AppendedRow | null> {
    const rows: Array<{ id: number; seq: number; created_at: Date }> = await manager.query(SQL.append, [
      m.requestId,
      m.direction,
      m.firstResponse ?? false,
      searchText,
      m.kind,
      m.operatorId ?? null,
      m.fromAddress,
      m.fromName ?? null,
      m.to,
      m.cc ?? [],
      m.subject,
      m.text,
      m.html ?? null,
      m.messageId,
      m.inReplyTo ?? null,
      m.references ?? [],
      m.senderSource ?? null,
      m.bcc ?? [],
      m.visibleText ?? null,
      m.safeHtml ?? null,
      m.sideThreadId ?? null,
    ]);
    return rows[0] ? { id: rows[0].id, seq: rows[0].seq, createdAt: rows[0].created_at } : null;
  }

  async writtenSince(
    manager: EntityManager,
    requestId: number,
    lastSeenMessageId: number,
    operatorId: number,
    limit: number,
  ): Promise<WrittenSinceResult> {
    await manager.query(SQL.lockRequest, [requestId]);
    const seen: Array<{ seq: number }> = await manager.query(SQL.seqInRequest, [requestId, lastSeenMessageId]);
    if (!seen[0]) return null;
    const rows: Array<{
      id: number;
      seq: number;
      kind: MessageKind;
      operator_id: number | null;
      from_address: string;
      from_name: string | null;
      created_at: Date;
      total: string | number;
    }> = await manager.query(SQL.writtenSince, [requestId, seen[0].seq, operatorId, limit]);
    return {
      messages: rows.map((r) => ({
        id: r.id,
        seq: r.seq,
        kind: r.kind,
        operatorId: r.operator_id,
        fromAddress: r.from_address,
        fromName: r.from_name,
        createdAt: new Date(r.created_at),
      })),
      total: rows.length ? Number(rows[0].total) : 0,
    };
  }

  async insertAttachment(manager: EntityManager, messageId: number, a: NewAttachment): Promise<void> {
    await manager.query(SQL.insertAttachment, [
      messageId,
      a.filename,
      a.contentType,
      a.size,
      a.sha256,
      a.contentId,
    ]);
  }

  async requestIdsForMessageIds(manager: EntityManager, messageIds: string[]): Promise<number[]> {
    const rows: Array<{ request_id: number }> = await manager.query(SQL.requestIdsForMessageIds, [messageIds]);
    return rows.map((r) => r.request_id);
  }

  async requestIdsForOwnMessageIds(manager: EntityManager, messageIds: string[]): Promise<number[]> {
    const rows: Array<{ request_id: number }> = await manager.query(SQL.requestIdsForOwnMessageIds, [messageIds]);
    return rows.map((r) => r.request_id);
  }

  async latestInbound(
    manager: EntityManager,
    requestId: number,
  ): Promise<Pick<Message, 'messageId' | 'references'> | null> {
    const rows: Array<{ message_id: string; references: string[] }> = await manager.query(SQL.latestInbound, [
      requestId,
    ]);
    return rows[0] ? { messageId: rows[0].message_id, references: rows[0].references } : null;
  }

  async conversationPage(
    requestId: number,
    after: number,
    limit: number,
    cut: number,
    budget: number,
  ): Promise<PageRows> {
    const rows: PageRow[] = await this.dataSource.query(SQL.conversationPage, [requestId, after, limit, cut, budget]);
    return {
      messages: rows.map((r) => ({ message: fromPageRow(r), truncated: r.truncated })),
      fetched: rows.length ? Number(rows[0].fetched) : 0,
    };
  }

  // The reads below go through TypeORM's find, as they did in MessagesService: entities read whole
  // by id, whose generated statements are not written out here.

  attachmentsOf(messageIds: number | number[]): Promise<Attachment[]> {
    return this.dataSource.manager.find(Attachment, {
      where: { messageId: Array.isArray(messageIds) ? In(messageIds) : messageIds },
      order: { id: 'ASC' },
    });
  }

  findInRequest(requestId: number, messageId: number): Promise<Message | null> {
    return this.dataSource.manager.findOne(Message, { where: { id: messageId, requestId } });
  }

  get(messageId: number): Promise<Message> {
    return this.dataSource.manager.findOneOrFail(Message, { where: { id: messageId } });
  }

  async attachmentGroup(id: number): Promise<{ groupId: number | null } | null> {
    const rows: Array<{ group_id: number | null }> = await this.dataSource.query(SQL.attachmentGroup, [id]);
    return rows[0] ? { groupId: rows[0].group_id } : null;
  }

  attachmentWithContent(id: number): Promise<Attachment | null> {
    return this.dataSource.manager
      .createQueryBuilder(Attachment, 'a')
      .addSelect('a.content')
      .where('a.id = :id', { id })
      .getOne();
  }
}
