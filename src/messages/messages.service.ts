import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { OutboxService } from '../outbound-mail/outbox.service';
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
}

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
      await manager.query(
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

  /** The whole conversation in order, with attachments (metadata) and delivery state. */
  async listForRequest(requestId: number): Promise<MessageView[]> {
    const messages = await this.dataSource.manager.find(Message, { where: { requestId }, order: { seq: 'ASC' } });
    if (!messages.length) return [];
    const ids = messages.map((m) => m.id);
    const attachments = await this.dataSource.manager.find(Attachment, {
      where: { messageId: In(ids) },
      order: { id: 'ASC' },
    });
    const deliveries = await this.outbox.deliveryFor(ids.filter((_, i) => messages[i].direction === 'out'));
    return messages.map((message) => ({
      message,
      attachments: attachments.filter((a) => a.messageId === message.id),
      delivery: deliveries.get(message.id) ?? null,
    }));
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
    const message = await this.dataSource.manager.findOneOrFail(Message, { where: { id: messageId } });
    const attachments = await this.dataSource.manager.find(Attachment, { where: { messageId } });
    const deliveries = await this.outbox.deliveryFor([messageId]);
    return { message, attachments, delivery: deliveries.get(messageId) ?? null };
  }
}
