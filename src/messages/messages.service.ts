import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { OutboxService } from '../outbound-mail/outbox.service';
import { queryWithLargeValues } from '../database/large-values';
import { NEXT_SEQ_UPDATE } from '../requests/requests.service';
import { Attachment } from './attachment.entity';
import { Message, MessageDirection, MessageKind, SenderSource } from './message.entity';

export interface Delivery {
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  lastError: string | null;
  sentAt: Date | null;
}

/** A message with what the API shows beside it. */
export interface MessageView {
  message: Message;
  attachments: Attachment[];
  delivery: Delivery | null;
  /** In a conversation page: text or html was cut at LIST_BODY_CHARS. */
  truncated?: boolean;
}

/** Characters of a message's text and of its HTML that a conversation page carries; the rest is cut. */
export const LIST_BODY_CHARS = 64 * 1024;
/** Bytes of bodies (text and HTML, as cut) one conversation page carries at most; it has at least one message. */
export const PAGE_BODY_BYTES = 1024 * 1024;

/** One page of a conversation, and whether messages follow it. */
export interface ConversationPage {
  views: MessageView[];
  more: boolean;
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
  subject: string;
  text: string;
  html: string | null;
  message_id: string;
  in_reply_to: string | null;
  references: string[];
  created_at: Date;
  sent_at: Date | null;
  truncated: boolean;
  fetched: string;
}

/**
 * Up to `limit` + 1 messages after seq `after`, text and html cut at `cut` characters (substr reads
 * only that slice of a large TOASTed value), then as many as fit in `budget` bytes of bodies (at
 * least one). `fetched` says how many the first step found, so the caller knows whether more follow.
 */
const CONVERSATION_PAGE = `
  WITH cut AS (
    SELECT id, request_id, seq, direction, kind, operator_id, from_address, from_name, sender_source, to_addresses,
           cc_addresses, subject, message_id, in_reply_to, "references", created_at, sent_at,
           substr(text, 1, $4) AS text, substr(html, 1, $4) AS html,
           substr(text, $4 + 1, 1) <> '' OR coalesce(substr(html, $4 + 1, 1) <> '', false) AS truncated
      FROM messages WHERE request_id = $1 AND seq > $2 ORDER BY seq LIMIT $3 + 1),
  sized AS (
    SELECT cut.*, sum(octet_length(text) + coalesce(octet_length(html), 0)) OVER (ORDER BY seq) AS running,
           row_number() OVER (ORDER BY seq) AS n, count(*) OVER () AS fetched
      FROM cut)
  SELECT * FROM sized WHERE n <= $3 AND (n = 1 OR running <= $5) ORDER BY seq`;

export interface NewAttachment {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  contentId: string | null;
  content: Buffer;
}

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
  subject: string;
  text: string;
  html?: string | null;
  messageId: string;
  inReplyTo?: string | null;
  references?: string[];
  attachments?: NewAttachment[];
  /** Marks the request's first response (an operator's first message). */
  firstResponse?: boolean;
}

/** The conversation of a request: messages and attachments. */
@Injectable()
export class MessagesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
  ) {}

  /** Appends a message to a request in the caller's transaction, with the next gapless seq. */
  async append(manager: EntityManager, m: NewMessage): Promise<Message> {
    // What people wrote is searchable (a customer's mail with its sender's address); automatic
    // answers and system mail (bounces) are not.
    const searchText =
      m.kind === 'customer'
        ? `${m.fromAddress} ${m.subject} ${m.text}`
        : m.kind === 'operator' || m.kind === 'note'
          ? `${m.subject} ${m.text}`
          : '';
    // One statement: the request's next message number (its row lock until commit keeps `seq`
    // gapless), its activity times and search vector (NEXT_SEQ_UPDATE), then the row.
    const rows: Array<{ id: number; seq: number; created_at: Date }> = await manager.query(
      `WITH s AS (${NEXT_SEQ_UPDATE})
       INSERT INTO messages (request_id, seq, direction, kind, operator_id, from_address, from_name, to_addresses,
                             cc_addresses, subject, text, html, message_id, in_reply_to, "references", created_at,
                             sender_source)
       SELECT $1, s.last_seq, $2, $5::text, $6::int, $7::text, $8::text, $9::text[], $10::text[], $11::text, $12::text,
              $13::text, $14::text, $15::text, $16::text[], clock_timestamp(), $17::text FROM s
       RETURNING id, seq, created_at`,
      [
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
      ],
    );
    if (!rows[0]) throw new Error(`request ${m.requestId} does not exist`);
    const seq = rows[0].seq;
    const id = rows[0].id;
    for (const a of m.attachments ?? []) {
      await queryWithLargeValues(
        manager,
        `INSERT INTO attachments (message_id, filename, content_type, size, sha256, content_id, content)
         VALUES ($1,$2,$3,$4,$5,$6,$7)`,
        [id, a.filename, a.contentType, a.size, a.sha256, a.contentId, a.content],
      );
    }
    return Object.assign(new Message(), {
      id,
      requestId: m.requestId,
      seq,
      direction: m.direction,
      kind: m.kind,
      operatorId: m.operatorId ?? null,
      fromAddress: m.fromAddress,
      fromName: m.fromName ?? null,
      senderSource: m.senderSource ?? null,
      toAddresses: m.to,
      ccAddresses: m.cc ?? [],
      subject: m.subject,
      text: m.text,
      html: m.html ?? null,
      messageId: m.messageId,
      inReplyTo: m.inReplyTo ?? null,
      references: m.references ?? [],
      createdAt: rows[0].created_at,
      sentAt: null,
    });
  }

  /** The request a Message-ID of its conversation belongs to (ours or the customer's). */
  async requestIdsForMessageIds(manager: EntityManager, messageIds: string[]): Promise<number[]> {
    if (!messageIds.length) return [];
    const rows: Array<{ request_id: number }> = await manager.query(
      `SELECT DISTINCT request_id FROM messages WHERE message_id = ANY ($1)`,
      [messageIds],
    );
    return rows.map((r) => r.request_id);
  }

  /**
   * The requests whose mail the desk itself sent under one of these Message-IDs (outgoing messages
   * only): what a bounce may attach to. A customer's own Message-ID quoted by a bounce is not ours.
   */
  async requestIdsForOwnMessageIds(manager: EntityManager, messageIds: string[]): Promise<number[]> {
    if (!messageIds.length) return [];
    const rows: Array<{ request_id: number }> = await manager.query(
      `SELECT DISTINCT request_id FROM messages WHERE message_id = ANY ($1) AND direction = 'out'`,
      [messageIds],
    );
    return rows.map((r) => r.request_id);
  }

  /** The latest customer (inbound) message of a request: what replies thread under. */
  async latestInbound(
    manager: EntityManager,
    requestId: number,
  ): Promise<Pick<Message, 'messageId' | 'references'> | null> {
    const rows: Array<{ message_id: string; references: string[] }> = await manager.query(
      `SELECT message_id, "references" FROM messages WHERE request_id = $1 AND direction = 'in' ORDER BY seq DESC LIMIT 1`,
      [requestId],
    );
    return rows[0] ? { messageId: rows[0].message_id, references: rows[0].references } : null;
  }

  /**
   * One page of the conversation in order: the messages after seq `after`, at most `limit` and
   * PAGE_BODY_BYTES of bodies (at least one message), text and html each cut at LIST_BODY_CHARS
   * (`truncated`), with attachments (metadata) and delivery state. A 20 MB mail is never loaded whole here.
   */
  async listPage(requestId: number, after: number, limit: number): Promise<ConversationPage> {
    const rows: PageRow[] = await this.dataSource.query(CONVERSATION_PAGE, [
      requestId,
      after,
      limit,
      LIST_BODY_CHARS,
      PAGE_BODY_BYTES,
    ]);
    if (!rows.length) return { views: [], more: false };
    const messages = rows.map((r) =>
      Object.assign(new Message(), {
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
        subject: r.subject,
        text: r.text,
        html: r.html,
        messageId: r.message_id,
        inReplyTo: r.in_reply_to,
        references: r.references,
        createdAt: r.created_at,
        sentAt: r.sent_at,
      }),
    );
    const ids = messages.map((m) => m.id);
    const attachments = await this.dataSource.manager.find(Attachment, {
      where: { messageId: In(ids) },
      order: { id: 'ASC' },
    });
    const deliveries = await this.outbox.deliveryFor(ids.filter((_, i) => messages[i].direction === 'out'));
    const views = messages.map((message, i) => ({
      message,
      attachments: attachments.filter((a) => a.messageId === message.id),
      delivery: deliveries.get(message.id) ?? null,
      truncated: rows[i].truncated,
    }));
    return { views, more: Number(rows[0].fetched) > rows.length };
  }

  /** One message of a request, whole (text and html not cut), or null when the request has no such message. */
  async viewInRequest(requestId: number, messageId: number): Promise<MessageView | null> {
    const message = await this.dataSource.manager.findOne(Message, { where: { id: messageId, requestId } });
    return message ? this.withDetails(message) : null;
  }

  /** An attachment with its stored bytes, or null when there is none with this id. */
  async loadAttachment(id: number): Promise<Attachment | null> {
    return this.dataSource.manager
      .createQueryBuilder(Attachment, 'a')
      .addSelect('a.content')
      .where('a.id = :id', { id })
      .getOne();
  }

  /** One message as the API shows it. */
  async view(messageId: number): Promise<MessageView> {
    return this.withDetails(await this.dataSource.manager.findOneOrFail(Message, { where: { id: messageId } }));
  }

  private async withDetails(message: Message): Promise<MessageView> {
    const attachments = await this.dataSource.manager.find(Attachment, {
      where: { messageId: message.id },
      order: { id: 'ASC' },
    });
    const deliveries = await this.outbox.deliveryFor([message.id]);
    return { message, attachments, delivery: deliveries.get(message.id) ?? null };
  }
}
