import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import * as crypto from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { isAddress, normalizeAddress } from '../common/addresses';
import type { Page } from '../common/pagination';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { environmentIdentity, identityOf, joinSignatures, type MailIdentity, withSignature } from './mail-identity';
import { formatAddress } from './outbox-mail-options';
import { OutboxDispatcher } from './outbox.dispatcher';
import type { OutboxMail, OutboxStatus } from './outbox.entity';
import { type MailDelivery, type OutboxBacklog, OutboxRepository, type OutboxStore } from './outbox.repository';
import type { OutgoingMail } from './outgoing-mail';
import { bracketMessageId, buildReferences, cleanMessageId } from './references';

export type { MailDelivery, OutboxBacklog } from './outbox.repository';

/** Every Message-ID MailDesk creates starts with this; the inbound loop guard recognises them by it and the domain. */
export const OWN_MESSAGE_ID_PREFIX = 'md-';

/**
 * The outbound-mail API for the other modules: enqueue a mail in the caller's transaction (it is
 * sent only if that transaction commits), mint our Message-IDs, count auto-replies for the rate
 * limit, report delivery, and the admin operations on failed mail.
 */
@Injectable()
export class OutboxService {
  constructor(
    @Inject(OutboxRepository) private readonly outbox: OutboxStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dispatcher: OutboxDispatcher,
  ) {}

  /**
   * Inserts the mail into the outbox with `manager` (the caller's transaction). Stores From (the
   * mail's identity, `mail.from`: its mailbox's name and address, also the envelope's MAIL FROM;
   * SUPPORT_NAME and SUPPORT_ADDRESS without one), To, Message-ID, In-Reply-To, a trimmed
   * References chain, for auto-replies the RFC 3834 headers plus X-Loop (the From address), the
   * operator's signature (operator mail) then the mailbox's at the end of the text and HTML, and the mailbox (null: the default).
   * The dispatcher is woken when the transaction commits.
   */
  async enqueue(manager: EntityManager, mail: OutgoingMail): Promise<OutboxMail> {
    const to = normalizeAddress(mail.to);
    if (!isAddress(to)) throw new Error(`outbox: "${mail.to}" is not an email address`);
    const messageId = cleanMessageId(mail.messageId);
    if (!messageId.includes('@')) throw new Error(`outbox: "${mail.messageId}" is not a Message-ID`);
    const identity = mail.from ?? environmentIdentity(this.config);
    const from = identity.address;
    const headers: Record<string, string> = {
      'Message-ID': `<${messageId}>`,
      From: formatAddress(identity.name, from),
      To: formatAddress(mail.toName, to),
    };
    const cc = recipients(mail.cc ?? [], 'Cc');
    const bcc = recipients((mail.bcc ?? []).map((address) => ({ address })), 'Bcc');
    if (cc.length) headers['Cc'] = cc.map((r) => formatAddress(r.name, r.address)).join(', ');
    const inReplyTo = bracketMessageId(mail.inReplyTo);
    if (inReplyTo) headers['In-Reply-To'] = inReplyTo;
    const references = buildReferences(mail.references ?? [], mail.inReplyTo);
    if (references) headers['References'] = references;
    if (mail.autoReply) {
      headers['Auto-Submitted'] = 'auto-replied';
      headers['X-Auto-Response-Suppress'] = 'All';
      headers['X-Loop'] = from;
    }
    const body = withSignature(
      mail.text,
      mail.html ?? null,
      joinSignatures(mail.operatorSignature, identity.signature),
    );
    const queued = await this.outbox.insert(manager, {
      messageRowId: mail.messageRowId ?? null,
      kind: mail.kind,
      toAddress: to,
      fromAddress: from,
      subject: mail.subject.replace(/[\r\n]+\s*/g, ' ').trim(),
      headers,
      text: body.text,
      html: body.html,
      mailboxId: identity.mailboxId,
      ccAddresses: cc.map((r) => r.address),
      bccAddresses: bcc.map((r) => r.address),
      attachmentIds: mail.attachmentIds ? [...mail.attachmentIds] : null,
    });
    this.dispatcher.kick(manager);
    return queued;
  }

  /**
   * Who mail for a request of mailbox `mailboxId` (null: the default mailbox) is from: its address,
   * name and signature, read in the caller's transaction. A disabled mailbox, or one that has no
   * row, is answered for by the default mailbox (as mail to a disabled mailbox goes to the default
   * one); no default row yet (before the directory wrote it): SUPPORT_ADDRESS and SUPPORT_NAME.
   */
  async identityFor(manager: EntityManager, mailboxId: number | null): Promise<MailIdentity> {
    const sender = await this.outbox.senderOf(manager, mailboxId);
    if (sender && (sender.isDefault || sender.state !== 'disabled')) return identityOf(sender);
    return mailboxId === null ? environmentIdentity(this.config) : this.identityFor(manager, null);
  }

  /** A new Message-ID of ours, `<random>@MESSAGE_ID_DOMAIN`, without angle brackets. */
  newMessageId(): string {
    return `${OWN_MESSAGE_ID_PREFIX}${Date.now().toString(36)}.${crypto.randomBytes(12).toString('hex')}@${this.config.mail.messageIdDomain}`;
  }

  /** Auto-replies enqueued to `address` since `since` (in the caller's transaction), for the rate limit. */
  countAutoRepliesSince(manager: EntityManager, address: string, since: Date): Promise<number> {
    return this.outbox.countAutoRepliesSince(manager, normalizeAddress(address), since);
  }

  /** Delivery state per messages.id (the newest outbox row of each); messages never mailed are absent. */
  async deliveryFor(messageRowIds: number[]): Promise<Map<number, MailDelivery>> {
    const result = new Map<number, MailDelivery>();
    if (messageRowIds.length === 0) return result;
    for (const { messageRowId, ...delivery } of await this.outbox.deliveryOf(messageRowIds)) {
      result.set(messageRowId, delivery);
    }
    return result;
  }

  /** One page of outbox rows in one status, newest first. */
  async list(status: OutboxStatus, page: number, limit: number): Promise<Page<OutboxMail>> {
    const { items, total } = await this.outbox.page(status, (page - 1) * limit, limit);
    return { items, total, page, limit };
  }

  /** One page of failed mail, newest first. */
  listFailed(page: number, limit: number): Promise<Page<OutboxMail>> {
    return this.list('failed', page, limit);
  }

  /**
   * Puts a failed mail back in the queue, due now (attempts are kept). 404 for an unknown id,
   * 409 when the mail is not failed.
   */
  async retry(id: number): Promise<OutboxMail> {
    const requeued = await this.outbox.requeueFailed(id);
    if (!requeued) {
      const existing = await this.outbox.findById(id);
      if (!existing) throw new NotFoundException(`outbox mail ${id} does not exist`);
      throw new ConflictException(`outbox mail ${id} is ${existing.status}, only failed mail can be retried`);
    }
    this.dispatcher.kick();
    return requeued;
  }

  /** Pending, due and failed counts. */
  backlog(): Promise<OutboxBacklog> {
    return this.outbox.backlog();
  }
}

/** Cc or Bcc recipients as stored: bare, lower-cased, each once; a value that is not an address is a programming error. */
function recipients(
  list: ReadonlyArray<{ address: string; name?: string | null }>,
  field: string,
): Array<{ address: string; name: string | null }> {
  const seen = new Map<string, { address: string; name: string | null }>();
  for (const r of list) {
    const address = normalizeAddress(r.address);
    if (!isAddress(address)) throw new Error(`outbox: ${field} "${r.address}" is not an email address`);
    if (!seen.has(address)) seen.set(address, { address, name: r.name ?? null });
  }
  return [...seen.values()];
}
