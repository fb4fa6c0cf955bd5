import type { EntityManager } from 'typeorm';
import type { IngestMessages, IngestRequests } from '../../src/inbound-mail/inbound-mail.service';
import type { Message, MessageDirection } from '../../src/messages/message.entity';
import type { NewMessage } from '../../src/messages/messages.service';
import type { Customer } from '../../src/requests/customer.entity';
import type { RequestStatus } from '../../src/requests/request.entity';
import type { NewEvent, RequestRoute } from '../../src/requests/requests.service';

/** One request of the ingest desk. */
export interface IngestDeskRequest {
  id: number;
  customerId: number;
  subject: string;
  status: RequestStatus;
  previousRequestId: number | null;
  /** Addresses that took part in its conversation besides the customer. */
  participants: string[];
  /** Its mailbox (null: the default) and group, as the route that opened it said. */
  mailboxId: number | null;
  groupId: number | null;
  /** The request it was merged into (then it is closed); absent or null otherwise. */
  mergedIntoId?: number | null;
}

/** One message of the ingest desk. */
export interface IngestDeskMessage {
  id: number;
  requestId: number;
  messageId: string;
  direction: MessageDirection;
  kind: string;
}

/**
 * The requests, customers and messages the ingest pipeline files mail into, in memory: what
 * RequestsService and MessagesService answer it (IngestRequests, IngestMessages), for the unit
 * tests of the ingest rules (no database). memory-desk.ts fakes the repositories under the
 * conversation and a request's lifecycle instead.
 */
export class IngestDesk implements IngestRequests, IngestMessages {
  readonly customers: Customer[] = [];
  readonly requests: IngestDeskRequest[] = [];
  readonly messages: IngestDeskMessage[] = [];
  readonly events: Array<{ requestId: number } & NewEvent> = [];

  /** A customer with an address (created when new). */
  customer(email: string, blocked = false): Customer {
    let customer = this.customers.find((c) => c.email === email);
    if (!customer) {
      const now = new Date();
      customer = { id: this.customers.length + 1, email, name: null, blocked, createdAt: now, updatedAt: now };
      this.customers.push(customer);
    }
    return customer;
  }

  /** A request of the customer at `email`, with a message of the desk (`out`) on it when given a Message-ID. */
  request(
    email: string,
    o: { status?: RequestStatus; participants?: string[]; sentMessageId?: string; mailboxId?: number | null } = {},
  ): IngestDeskRequest {
    const request: IngestDeskRequest = {
      id: this.requests.length + 1,
      customerId: this.customer(email).id,
      subject: 'a request',
      status: o.status ?? 'new',
      previousRequestId: null,
      participants: o.participants ?? [],
      mailboxId: o.mailboxId ?? null,
      groupId: null,
    };
    this.requests.push(request);
    if (o.sentMessageId) this.message(request.id, o.sentMessageId, 'out');
    return request;
  }

  /** A message on a request. */
  message(requestId: number, messageId: string, direction: MessageDirection): IngestDeskMessage {
    const message = { id: this.messages.length + 1, requestId, messageId, direction, kind: 'customer' };
    this.messages.push(message);
    return message;
  }

  findForParticipant(_tx: EntityManager, requestId: number, address: string) {
    const r = this.requests.find((x) => x.id === requestId);
    const customer = this.customers.find((c) => c.id === r?.customerId);
    if (!r || (customer?.email !== address && !r.participants.includes(address))) return Promise.resolve(null);
    return Promise.resolve({ id: r.id, status: r.status, customerId: r.customerId });
  }

  followMerges(_tx: EntityManager, requestIds: readonly number[]): Promise<number[]> {
    const end = (id: number): number => {
      let current = id;
      for (let hops = 0; hops < 10; hops++) {
        const next = this.requests.find((x) => x.id === current)?.mergedIntoId;
        if (next == null) break;
        current = next;
      }
      return current;
    };
    return Promise.resolve([...new Set(requestIds.map(end))]);
  }

  requestIdsForMessageIds(_tx: EntityManager, messageIds: string[]): Promise<number[]> {
    return Promise.resolve(this.requestIdsOf(messageIds, () => true));
  }

  requestIdsForOwnMessageIds(_tx: EntityManager, messageIds: string[]): Promise<number[]> {
    return Promise.resolve(this.requestIdsOf(messageIds, (m) => m.direction === 'out'));
  }

  upsertCustomer(_tx: EntityManager, email: string, name: string | null): Promise<Customer> {
    const customer = this.customer(email);
    customer.name ??= name;
    return Promise.resolve(customer);
  }

  /**
   * The customer's open request (in the route's mailbox when given), else a new one in the route's
   * mailbox and group (RequestsService.openRequestFor).
   */
  openRequestFor(
    _tx: EntityManager,
    customerId: number,
    subject: string,
    previousRequestId: number | null,
    route?: RequestRoute,
  ) {
    const open = this.requests.find(
      (r) => r.customerId === customerId && r.status !== 'closed' && (!route || r.mailboxId === route.mailboxId),
    );
    if (open) return Promise.resolve({ id: open.id, created: false });
    const id = this.requests.length + 1;
    const { mailboxId = null, groupId = null } = route ?? {};
    this.requests.push({
      id,
      customerId,
      subject,
      status: 'new',
      previousRequestId,
      participants: [],
      mailboxId,
      groupId,
    });
    return Promise.resolve({ id, created: true });
  }

  addEvent(_tx: EntityManager, requestId: number, event: NewEvent): Promise<void> {
    this.events.push({ requestId, ...event });
    return Promise.resolve();
  }

  append(_tx: EntityManager, m: NewMessage): Promise<Message> {
    const message = this.message(m.requestId, m.messageId, m.direction);
    message.kind = m.kind;
    return Promise.resolve({ id: message.id, requestId: m.requestId } as Message);
  }

  private requestIdsOf(messageIds: string[], which: (m: IngestDeskMessage) => boolean): number[] {
    const ids = this.messages.filter((m) => messageIds.includes(m.messageId) && which(m)).map((m) => m.requestId);
    return [...new Set(ids)];
  }
}
