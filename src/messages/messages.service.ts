import { Readable } from 'node:stream';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { BlobsService } from '../blobs/blobs.service';
import type { EntityManager } from 'typeorm';
import { type MailDelivery, OutboxService } from '../outbound-mail/outbox.service';
import { canSeeRequest, type RequestActor, requestScope } from '../requests/request-scope';
import { Attachment } from './attachment.entity';
import { Message } from './message.entity';
import { appendedMessage, MessagesRepository, type MessagesStore, type NewMessage } from './messages.repository';

export type { NewAttachment, NewMessage } from './messages.repository';

/** A message with what the API shows beside it. */
export interface MessageView {
  message: Message;
  attachments: Attachment[];
  /** The outbox's delivery state of the mail that carried it; null for a message never mailed. */
  delivery: MailDelivery | null;
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

/** Deliveries by messages.id: what OutboxService tells of the mail that carried each message. */
export type DeliveryLookup = Pick<OutboxService, 'deliveryFor'>;

/**
 * What a message adds to its request's search vector: what people wrote is searchable (a
 * customer's mail with its sender's address, and a side thread's mail with a third party); automatic answers and system mail (bounces) are not.
 */
export function searchTextOf(m: Pick<NewMessage, 'kind' | 'fromAddress' | 'subject' | 'text'>): string {
  return m.kind === 'customer' || m.kind === 'side'
    ? `${m.fromAddress} ${m.subject} ${m.text}`
    : m.kind === 'operator' || m.kind === 'note'
      ? `${m.subject} ${m.text}`
      : '';
}

/** The conversation of a request: messages and attachments. */
@Injectable()
export class MessagesService {
  constructor(
    @Inject(MessagesRepository) private readonly store: MessagesStore,
    @Inject(OutboxService) private readonly outbox: DeliveryLookup,
    @Optional() @Inject(BlobsService) private readonly blobs?: Pick<BlobsService, 'open'>,
  ) {}

  /** Appends a message to a request in the caller's transaction, with the next gapless seq. */
  async append(manager: EntityManager, m: NewMessage): Promise<Message> {
    // One statement: the request's next message number (its row lock until commit keeps `seq`
    // gapless), its activity times and search vector, then the row.
    const row = await this.store.append(manager, m, searchTextOf(m));
    if (!row) throw new Error(`request ${m.requestId} does not exist`);
    for (const a of m.attachments ?? []) await this.store.insertAttachment(manager, row.id, a);
    return appendedMessage(m, row);
  }

  /** The request a Message-ID of its conversation belongs to (ours or the customer's). */
  async requestIdsForMessageIds(manager: EntityManager, messageIds: string[]): Promise<number[]> {
    if (!messageIds.length) return [];
    return this.store.requestIdsForMessageIds(manager, messageIds);
  }

  /**
   * The requests whose mail the desk itself sent under one of these Message-IDs (outgoing messages
   * only): what a bounce may attach to. A customer's own Message-ID quoted by a bounce is not ours.
   */
  async requestIdsForOwnMessageIds(manager: EntityManager, messageIds: string[]): Promise<number[]> {
    if (!messageIds.length) return [];
    return this.store.requestIdsForOwnMessageIds(manager, messageIds);
  }

  /** The latest customer (inbound) message of a request: what replies thread under. */
  latestInbound(manager: EntityManager, requestId: number): Promise<Pick<Message, 'messageId' | 'references'> | null> {
    return this.store.latestInbound(manager, requestId);
  }

  /**
   * One page of the conversation in order: the messages after seq `after`, at most `limit` and
   * PAGE_BODY_BYTES of bodies (at least one message), text and html each cut at LIST_BODY_CHARS
   * (`truncated`), with attachments (metadata) and delivery state. A 20 MB mail is never loaded whole here.
   */
  async listPage(requestId: number, after: number, limit: number): Promise<ConversationPage> {
    const page = await this.store.conversationPage(requestId, after, limit, LIST_BODY_CHARS, PAGE_BODY_BYTES);
    if (!page.messages.length) return { views: [], more: false };
    const messages = page.messages.map((m) => m.message);
    const ids = messages.map((m) => m.id);
    const attachments = await this.store.attachmentsOf(ids);
    const deliveries = await this.outbox.deliveryFor(ids.filter((_, i) => messages[i].direction === 'out'));
    const views = page.messages.map(({ message, truncated }) => ({
      message,
      attachments: attachments.filter((a) => a.messageId === message.id),
      delivery: deliveries.get(message.id) ?? null,
      truncated,
    }));
    return { views, more: page.fetched > messages.length };
  }

  /** One message of a request, whole (text and html not cut), or null when the request has no such message. */
  async viewInRequest(requestId: number, messageId: number): Promise<MessageView | null> {
    const message = await this.store.findInRequest(requestId, messageId);
    return message ? this.withDetails(message) : null;
  }

  /**
   * An attachment with its bytes as a stream (from the blob store; an old row's own bytes) and
   * their count, or null when there is none with this id or it belongs to a request the actor may
   * not see (request-scope.ts: the same 404, so ids leak nothing). A blob store that is down
   * throws BlobStoreUnavailableError (503).
   */
  async openAttachment(
    id: number,
    actor: RequestActor,
  ): Promise<{ attachment: Attachment; stream: Readable; size: number } | null> {
    if (requestScope(actor) !== null) {
      const found = await this.store.attachmentGroup(id);
      if (!found || !canSeeRequest(actor, found.groupId)) return null;
    }
    const attachment = await this.store.attachmentWithContent(id);
    if (!attachment) return null;
    if (attachment.content) {
      const bytes = attachment.content;
      return { attachment, stream: Readable.from([bytes]), size: bytes.length };
    }
    if (!this.blobs) throw new Error('no blob store was given');
    const blob = await this.blobs.open(attachment.sha256);
    return { attachment, stream: blob.stream, size: blob.size };
  }

  /** One message as the API shows it. */
  async view(messageId: number): Promise<MessageView> {
    return this.withDetails(await this.store.get(messageId));
  }

  private async withDetails(message: Message): Promise<MessageView> {
    const attachments = await this.store.attachmentsOf(message.id);
    const deliveries = await this.outbox.deliveryFor([message.id]);
    return { message, attachments, delivery: deliveries.get(message.id) ?? null };
  }
}
