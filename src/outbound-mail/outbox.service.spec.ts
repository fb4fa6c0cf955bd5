import { jest } from '@jest/globals';
import { ConflictException, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { loadConfig } from '../config/config';
import type { LeaseStore } from '../database/lease-queue.repository';
import type { MailboxSender } from './mail-identity';
import type { OutboxDispatcher } from './outbox.dispatcher';
import { OutboxMail, type OutboxStatus } from './outbox.entity';
import type { MailDelivery, NewOutboxMail, OutboxBacklog, OutboxStore } from './outbox.repository';
import { OutboxService } from './outbox.service';
import type { OutgoingMail } from './outgoing-mail';

/** The outbox table in memory: the rules tested without a database. */
class MemoryOutbox implements OutboxStore {
  rows: OutboxMail[] = [];
  readonly leases = {} as LeaseStore<OutboxMail>;
  /** The managers inserts ran with. */
  managers: EntityManager[] = [];

  insert(manager: EntityManager, mail: NewOutboxMail): Promise<OutboxMail> {
    this.managers.push(manager);
    const row = Object.assign(new OutboxMail(), {
      id: String(this.rows.length + 1),
      messageId: mail.messageRowId,
      kind: mail.kind,
      toAddress: mail.toAddress,
      fromAddress: mail.fromAddress,
      subject: mail.subject,
      headers: mail.headers,
      text: mail.text,
      html: mail.html,
      mailboxId: mail.mailboxId,
      ccAddresses: mail.ccAddresses,
      bccAddresses: mail.bccAddresses,
      attachmentIds: mail.attachmentIds,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: new Date(),
      lockedUntil: null,
      lastError: null,
      sentAt: null,
      createdAt: new Date(),
    });
    this.rows.push(row);
    return Promise.resolve(row);
  }

  countAutoRepliesSince(_manager: EntityManager, address: string, since: Date): Promise<number> {
    const n = this.rows.filter((r) => r.toAddress === address && r.kind === 'auto_reply' && r.createdAt >= since);
    return Promise.resolve(n.length);
  }

  deliveryOf(ids: number[]): Promise<Array<MailDelivery & { messageRowId: number }>> {
    return Promise.resolve(
      this.rows
        .filter((r) => r.messageId !== null && ids.includes(r.messageId))
        .map((r) => ({
          messageRowId: r.messageId!,
          status: r.status,
          attempts: r.attempts,
          lastError: r.lastError,
          sentAt: r.sentAt,
        })),
    );
  }

  page(status: OutboxStatus, offset: number, limit: number): Promise<{ items: OutboxMail[]; total: number }> {
    const all = this.rows.filter((r) => r.status === status).reverse();
    return Promise.resolve({ items: all.slice(offset, offset + limit), total: all.length });
  }

  findById(id: number): Promise<OutboxMail | null> {
    return Promise.resolve(this.rows.find((r) => r.id === String(id)) ?? null);
  }

  async requeueFailed(id: number): Promise<OutboxMail | null> {
    const row = await this.findById(id);
    if (row?.status !== 'failed') return null;
    row.status = 'pending';
    return row;
  }

  backlog(): Promise<OutboxBacklog> {
    throw new Error('not used');
  }

  attachmentsOf(): Promise<never[]> {
    return Promise.resolve([]);
  }

  attachmentsByIds(): Promise<never[]> {
    return Promise.resolve([]);
  }

  /** The mailboxes' rows the identity is read from. */
  senders: MailboxSender[] = [];

  senderOf(_manager: EntityManager, mailboxId: number | null): Promise<MailboxSender | null> {
    const found = this.senders.find((m) => (mailboxId === null ? m.isDefault : m.id === mailboxId));
    return Promise.resolve(found ?? null);
  }

  wakeMailboxes(): Promise<number> {
    return Promise.resolve(0);
  }
}

const config = loadConfig({
  SUPPORT_ADDRESS: 'help@desk.test',
  SUPPORT_NAME: 'Desk "Help"',
  MESSAGE_ID_DOMAIN: 'desk.test',
});
const manager = { name: 'the caller transaction' } as unknown as EntityManager;

const mail = (over: Partial<OutgoingMail> = {}): OutgoingMail => ({
  kind: 'auto_reply',
  to: 'Ada@Example.TEST',
  toName: 'Ada Lovelace',
  subject: 'Re: printer\r\n  on fire',
  text: 'We got it.',
  messageId: '<md-1.abc@desk.test>',
  inReplyTo: 'first@client.test',
  references: ['first@client.test'],
  autoReply: true,
  ...over,
});

describe('OutboxService rules', () => {
  let store: MemoryOutbox;
  let dispatcher: { kick: jest.Mock };
  let service: OutboxService;
  beforeEach(() => {
    store = new MemoryOutbox();
    dispatcher = { kick: jest.fn() };
    service = new OutboxService(store, config, dispatcher as unknown as OutboxDispatcher);
  });

  it('queues a mail with its addresses, threading and RFC 3834 headers, in the caller transaction, and wakes the dispatcher on its commit', async () => {
    const queued = await service.enqueue(manager, mail({ messageRowId: 58 }));
    expect(store.managers).toEqual([manager]);
    expect(queued).toMatchObject({
      messageId: 58,
      toAddress: 'ada@example.test',
      fromAddress: 'help@desk.test',
      subject: 'Re: printer on fire',
      html: null,
    });
    expect(queued.headers).toEqual({
      'Message-ID': '<md-1.abc@desk.test>',
      From: '"Desk \\"Help\\"" <help@desk.test>',
      To: '"Ada Lovelace" <ada@example.test>',
      'In-Reply-To': '<first@client.test>',
      References: '<first@client.test>',
      'Auto-Submitted': 'auto-replied',
      'X-Auto-Response-Suppress': 'All',
      'X-Loop': 'help@desk.test',
    });
    expect(dispatcher.kick).toHaveBeenCalledWith(manager);
  });

  it("sends a mailbox's mail From its name and address, with its signature and X-Loop, and keeps its mailbox", async () => {
    store.senders = [
      { id: 1, isDefault: true, address: 'help@desk.test', name: 'Help', signature: null, state: 'active' },
      {
        id: 2,
        isDefault: false,
        address: 'billing@desk.test',
        name: 'Acme Billing',
        signature: 'Billing team',
        state: 'active',
      },
      { id: 3, isDefault: false, address: 'old@desk.test', name: 'Old', signature: null, state: 'disabled' },
    ];
    const billing = await service.identityFor(manager, 2);
    const queued = await service.enqueue(manager, mail({ from: billing, html: '<p>We got it.</p>' }));
    expect(queued).toMatchObject({
      fromAddress: 'billing@desk.test',
      mailboxId: 2,
      text: 'We got it.\n\n-- \nBilling team\n',
      html: '<p>We got it.</p><div class="signature">--<br>Billing team</div>',
    });
    expect(queued.headers).toMatchObject({ From: '"Acme Billing" <billing@desk.test>', 'X-Loop': 'billing@desk.test' });
    await expect(service.identityFor(manager, null)).resolves.toMatchObject({ mailboxId: null, name: 'Help' });
    // A mailbox that is disabled or gone: the default mailbox; no row at all: the environment's identity.
    await expect(service.identityFor(manager, 3)).resolves.toMatchObject({
      mailboxId: null,
      address: 'help@desk.test',
    });
    await expect(service.identityFor(manager, 9)).resolves.toMatchObject({ address: 'help@desk.test' });
    store.senders = [];
    await expect(service.identityFor(manager, 9)).resolves.toEqual({
      mailboxId: null,
      address: 'help@desk.test',
      name: 'Desk "Help"',
      signature: null,
    });
  });

  it('adds no automation headers to an operator reply', async () => {
    const queued = await service.enqueue(manager, mail({ kind: 'operator', autoReply: false, inReplyTo: null }));
    expect(Object.keys(queued.headers)).toEqual(['Message-ID', 'From', 'To', 'References']);
  });

  it('refuses what is not an address or not a Message-ID, and queues nothing', async () => {
    await expect(service.enqueue(manager, mail({ to: 'not an address' }))).rejects.toThrow(/is not an email address/);
    await expect(service.enqueue(manager, mail({ messageId: 'no-domain' }))).rejects.toThrow(/is not a Message-ID/);
    expect(store.rows).toHaveLength(0);
    expect(dispatcher.kick).not.toHaveBeenCalled();
  });

  it('counts auto-replies by the lower-cased address', async () => {
    await service.enqueue(manager, mail());
    await expect(service.countAutoRepliesSince(manager, 'ADA@example.test', new Date(0))).resolves.toBe(1);
  });

  it('reports the delivery of the newest mail of each message', async () => {
    await service.enqueue(manager, mail({ messageRowId: 7 }));
    const newer = await service.enqueue(manager, mail({ messageRowId: 7 }));
    Object.assign(newer, { status: 'sent', attempts: 2, sentAt: new Date(5) });
    const delivery = await service.deliveryFor([7, 8]);
    expect([...delivery]).toEqual([[7, { status: 'sent', attempts: 2, lastError: null, sentAt: new Date(5) }]]);
    await expect(service.deliveryFor([])).resolves.toEqual(new Map());
  });

  it('pages by status', async () => {
    for (let i = 0; i < 5; i++) await service.enqueue(manager, mail());
    const page = await service.list('pending', 2, 2);
    expect(page).toMatchObject({ total: 5, page: 2, limit: 2 });
    expect(page.items.map((m) => m.id)).toEqual(['3', '2']);
  });

  it('queues failed mail again and wakes the dispatcher; 404 for an unknown id, 409 for mail that is not failed', async () => {
    const failed = await service.enqueue(manager, mail());
    failed.status = 'failed';
    await service.enqueue(manager, mail());
    dispatcher.kick.mockClear();
    await expect(service.retry(1)).resolves.toMatchObject({ id: '1', status: 'pending' });
    expect(dispatcher.kick).toHaveBeenCalledWith();
    await expect(service.retry(2)).rejects.toThrow(ConflictException);
    await expect(service.retry(2)).rejects.toThrow('outbox mail 2 is pending, only failed mail can be retried');
    await expect(service.retry(99)).rejects.toThrow(NotFoundException);
  });
});
