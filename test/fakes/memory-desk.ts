/**
 * The help desk's storage in memory, for the unit tests of the conversation and of a request's
 * lifecycle: requests with their history, messages with their attachments, the outbox and the
 * webhook queue, behind the interfaces the services take. A transaction that throws leaves nothing
 * behind, as PostgreSQL's rollback would. ingest-desk.ts fakes what the ingest pipeline sees of the
 * requests and messages instead.
 */
import type { EntityManager } from 'typeorm';
import { Attachment } from '../../src/messages/attachment.entity';
import { Message } from '../../src/messages/message.entity';
import {
  appendedMessage,
  type AppendedRow,
  type MessagesStore,
  type NewAttachment,
  type NewMessage,
  type PageRows,
  type WrittenSinceResult,
} from '../../src/messages/messages.repository';
import type { DeliveryLookup } from '../../src/messages/messages.service';
import type { ConversationOutbox } from '../../src/messages/conversation.service';
import { OutboxMail } from '../../src/outbound-mail/outbox.entity';
import type { MailIdentity } from '../../src/outbound-mail/mail-identity';
import type { OutgoingMail } from '../../src/outbound-mail/outgoing-mail';
import { Customer } from '../../src/requests/customer.entity';
import type { LifecycleOperators, LifecycleStore, RequestRecords } from '../../src/requests/request-lifecycle.service';
import { ServiceRequest, type RequestStatus } from '../../src/requests/request.entity';
import type { RequestLock } from '../../src/requests/requests.repository';
import type { NewEvent } from '../../src/requests/requests.service';
import type { WebhooksService } from '../../src/webhooks/webhooks.service';

/** The manager the fakes hand to the work of a transaction: they never look at it. */
const MANAGER = {} as EntityManager;

/** One request as the fakes keep it. */
export interface MemoryRequest {
  id: number;
  subject: string;
  status: RequestStatus;
  operatorId: number | null;
  customer: { email: string; name: string | null; blocked: boolean };
  lastSeq: number;
  firstResponseAt: Date | null;
  /** The request's group (null: none). */
  groupId: number | null;
  /** What each message added to the search vector, in order ('' adds nothing and is not kept). */
  searchText: string[];
}

/** An event as addEvent got it, with its request. */
export type MemoryEvent = NewEvent & { requestId: number };

/** A mail as OutboxService.enqueue got it, with when. */
export type MemoryMail = OutgoingMail & { at: Date };

/** The whole desk in memory: requests, history, messages and attachments, outbox, webhooks. */
export class MemoryDesk implements RequestRecords, MessagesStore, LifecycleStore {
  requests = new Map<number, MemoryRequest>();
  events: MemoryEvent[] = [];
  messages: Message[] = [];
  attachments: Attachment[] = [];
  mails: MemoryMail[] = [];
  webhookEvents: Array<{ event: string; data: Record<string, unknown> }> = [];
  /** Operators by id: their names (for a request's operator) and whether they are active. */
  operators = new Map<
    number,
    {
      name: string;
      email: string;
      role: 'admin' | 'operator';
      active: boolean;
      groupIds?: number[];
      capacity?: number | null;
    }
  >();
  /** The operators whose row a transaction locked (the capacity check). */
  lockedOperators: number[] = [];

  /** Adds a request (new, a customer of its own) and returns it. */
  addRequest(r: Partial<MemoryRequest> & { id: number }): MemoryRequest {
    const request: MemoryRequest = {
      subject: `Request ${r.id}`,
      status: 'new',
      operatorId: null,
      customer: { email: `customer${r.id}@example.com`, name: null, blocked: false },
      lastSeq: 0,
      firstResponseAt: null,
      groupId: null,
      searchText: [],
      ...r,
    };
    this.requests.set(request.id, request);
    return request;
  }

  /** Adds an operator (active unless told; in no group unless told). */
  addOperator(
    id: number,
    name: string,
    role: 'admin' | 'operator' = 'operator',
    active = true,
    groupIds: number[] = [],
  ): void {
    this.operators.set(id, { name, email: `${name.toLowerCase()}@desk.example`, role, active, groupIds });
  }

  /** The events of a request, of one type when given. */
  eventsOf(requestId: number, type?: MemoryEvent['type']): MemoryEvent[] {
    return this.events.filter((e) => e.requestId === requestId && (!type || e.type === type));
  }

  async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const requests = new Map([...this.requests].map(([id, r]) => [id, { ...r, searchText: [...r.searchText] }]));
    const lengths = [this.events, this.messages, this.attachments, this.mails, this.webhookEvents].map((l) => l.length);
    try {
      return await work(MANAGER);
    } catch (err) {
      this.requests = requests;
      this.events.length = lengths[0];
      this.messages.length = lengths[1];
      this.attachments.length = lengths[2];
      this.mails.length = lengths[3];
      this.webhookEvents.length = lengths[4];
      throw err;
    }
  }

  // RequestRecords (RequestsService)

  findById(id: number): Promise<ServiceRequest | null> {
    const r = this.requests.get(id);
    if (!r) return Promise.resolve(null);
    const operator = r.operatorId === null ? null : this.operators.get(r.operatorId);
    return Promise.resolve(
      Object.assign(new ServiceRequest(), {
        id: r.id,
        subject: r.subject,
        status: r.status,
        operatorId: r.operatorId,
        customer: Object.assign(new Customer(), { id: r.id, ...r.customer }),
        operator: operator ? { id: r.operatorId, name: operator.name } : null,
        lastSeq: r.lastSeq,
        firstResponseAt: r.firstResponseAt,
        groupId: r.groupId,
      }),
    );
  }

  addEvent(_manager: EntityManager, requestId: number, event: NewEvent): Promise<void> {
    this.events.push({ ...event, requestId });
    return Promise.resolve();
  }

  // MessagesStore

  append(_manager: EntityManager, m: NewMessage, searchText: string): Promise<AppendedRow | null> {
    const r = this.requests.get(m.requestId);
    if (!r) return Promise.resolve(null);
    r.lastSeq += 1;
    if (m.firstResponse && !r.firstResponseAt) r.firstResponseAt = new Date();
    if (searchText) r.searchText.push(searchText);
    const row = { id: this.messages.length + 1, seq: r.lastSeq, createdAt: new Date() };
    this.messages.push(appendedMessage(m, row));
    return Promise.resolve(row);
  }

  writtenSince(
    _manager: EntityManager,
    requestId: number,
    lastSeenMessageId: number,
    operatorId: number,
    limit: number,
  ): Promise<WrittenSinceResult> {
    const seen = this.messages.find((m) => m.id === lastSeenMessageId && m.requestId === requestId);
    if (!seen) return Promise.resolve(null);
    const since = this.messages
      .filter(
        (m) => m.requestId === requestId && m.seq > seen.seq && m.kind !== 'auto_reply' && m.operatorId !== operatorId,
      )
      .sort((a, b) => a.seq - b.seq);
    return Promise.resolve({
      messages: since.slice(0, limit).map((m) => ({
        id: m.id,
        seq: m.seq,
        kind: m.kind,
        operatorId: m.operatorId ?? null,
        fromAddress: m.fromAddress,
        fromName: m.fromName ?? null,
        createdAt: m.createdAt,
      })),
      total: since.length,
    });
  }

  insertAttachment(_manager: EntityManager, messageId: number, a: NewAttachment): Promise<void> {
    this.attachments.push(Object.assign(new Attachment(), { id: this.attachments.length + 1, messageId, ...a }));
    return Promise.resolve();
  }

  requestIdsForMessageIds(_manager: EntityManager, messageIds: string[]): Promise<number[]> {
    return Promise.resolve(this.requestIdsOf((m) => messageIds.includes(m.messageId)));
  }

  requestIdsForOwnMessageIds(_manager: EntityManager, messageIds: string[]): Promise<number[]> {
    return Promise.resolve(this.requestIdsOf((m) => messageIds.includes(m.messageId) && m.direction === 'out'));
  }

  latestInbound(_manager: EntityManager, requestId: number): Promise<Pick<Message, 'messageId' | 'references'> | null> {
    const inbound = this.messages.filter((m) => m.requestId === requestId && m.direction === 'in');
    const last = inbound.sort((a, b) => b.seq - a.seq)[0];
    return Promise.resolve(last ? { messageId: last.messageId, references: last.references } : null);
  }

  conversationPage(requestId: number, after: number, limit: number, cut: number, budget: number): Promise<PageRows> {
    const fetched = this.messages
      .filter((m) => m.requestId === requestId && m.seq > after)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit + 1)
      .map((m) => ({
        message: Object.assign(new Message(), m, { text: m.text.slice(0, cut), html: m.html?.slice(0, cut) ?? null }),
        truncated: m.text.length > cut || (m.html?.length ?? 0) > cut,
      }));
    let running = 0;
    const messages = fetched.slice(0, limit).filter((p, i) => {
      running += Buffer.byteLength(p.message.text) + Buffer.byteLength(p.message.html ?? '');
      return i === 0 || running <= budget;
    });
    return Promise.resolve({ messages, fetched: fetched.length });
  }

  attachmentsOf(messageIds: number | number[]): Promise<Attachment[]> {
    const ids = Array.isArray(messageIds) ? messageIds : [messageIds];
    return Promise.resolve(this.attachments.filter((a) => ids.includes(a.messageId)));
  }

  findInRequest(requestId: number, messageId: number): Promise<Message | null> {
    return Promise.resolve(this.messages.find((m) => m.id === messageId && m.requestId === requestId) ?? null);
  }

  async get(messageId: number): Promise<Message> {
    const message = this.messages.find((m) => m.id === messageId);
    if (!message) throw new Error(`no message ${messageId}`);
    return message;
  }

  attachmentWithContent(id: number): Promise<Attachment | null> {
    return Promise.resolve(this.attachments.find((a) => a.id === id) ?? null);
  }

  attachmentGroup(id: number): Promise<{ groupId: number | null } | null> {
    const attachment = this.attachments.find((a) => a.id === id);
    const message = attachment && this.messages.find((m) => m.id === attachment.messageId);
    const request = message && this.requests.get(message.requestId);
    return Promise.resolve(request ? { groupId: request.groupId } : null);
  }

  // LifecycleStore (RequestsRepository's statements that RequestLifecycleService runs)

  lockForUpdate(requestId: number): Promise<RequestLock | null> {
    const r = this.requests.get(requestId);
    return Promise.resolve(r ? { status: r.status, operatorId: r.operatorId } : null);
  }

  countInProgress(operatorId: number): Promise<number> {
    const held = [...this.requests.values()].filter((r) => r.operatorId === operatorId && r.status === 'in_progress');
    return Promise.resolve(held.length);
  }

  transition(requestId: number, from: RequestStatus, to: RequestStatus, operatorId: number | null): Promise<boolean> {
    const r = this.requests.get(requestId);
    if (!r || r.status !== from) return Promise.resolve(false);
    r.status = to;
    r.operatorId = operatorId ?? r.operatorId;
    return Promise.resolve(true);
  }

  setAssignee(requestId: number, operatorId: number | null): Promise<boolean> {
    const r = this.requests.get(requestId);
    if (!r || r.status !== 'in_progress') return Promise.resolve(false);
    r.operatorId = operatorId;
    if (operatorId === null) r.status = 'new';
    return Promise.resolve(true);
  }

  // The other modules' services, as the conversation and the lifecycle call them.

  /** Who mail of a mailbox is from, by mailbox id (0: the default); else help@desk.example, "Desk Help". */
  identities = new Map<number, MailIdentity>();

  /** OutboxService: Message-IDs, the queue, the auto-reply count, deliveries. */
  readonly outbox: ConversationOutbox & DeliveryLookup = {
    newMessageId: () => `md-${this.mails.length + 1}.${this.messages.length + 1}@desk.example`,
    enqueue: (_manager: EntityManager, mail: OutgoingMail) => {
      this.mails.push({ ...mail, at: new Date() });
      return Promise.resolve(new OutboxMail());
    },
    identityFor: (_manager: EntityManager, mailboxId: number | null) =>
      Promise.resolve(
        this.identities.get(mailboxId ?? 0) ?? {
          mailboxId,
          address: 'help@desk.example',
          name: 'Desk Help',
          signature: null,
        },
      ),
    countAutoRepliesSince: (_manager: EntityManager, address: string, since: Date) =>
      Promise.resolve(
        this.mails.filter((m) => m.autoReply && m.to.toLowerCase() === address.toLowerCase() && m.at >= since).length,
      ),
    deliveryFor: (ids: number[]) =>
      Promise.resolve(
        new Map(
          this.mails
            .filter((m) => m.messageRowId != null && ids.includes(m.messageRowId))
            .map((m) => [m.messageRowId!, { status: 'pending' as const, attempts: 0, lastError: null, sentAt: null }]),
        ),
      ),
  };

  /** WebhooksService.enqueue. */
  readonly webhooks: Pick<WebhooksService, 'enqueue'> = {
    enqueue: (_manager, event, data) => {
      this.webhookEvents.push({ event, data });
      return Promise.resolve();
    },
  };

  /** OperatorsService: who an assignee is, and the row lock of the capacity check (kept in lockedOperators). */
  readonly operatorsService: LifecycleOperators = {
    activeIdentity: (id: number) => {
      const o = this.operators.get(id);
      return Promise.resolve(
        o?.active
          ? { id, name: o.name, email: o.email, role: o.role, tokenVersion: 0, groupIds: o.groupIds ?? [] }
          : null,
      );
    },
    lockForUpdate: (_manager: EntityManager, id: number) => {
      this.lockedOperators.push(id);
      return Promise.resolve(this.operators.get(id)?.capacity ?? null);
    },
  };

  private requestIdsOf(match: (m: Message) => boolean): number[] {
    return [...new Set(this.messages.filter(match).map((m) => m.requestId))];
  }
}
