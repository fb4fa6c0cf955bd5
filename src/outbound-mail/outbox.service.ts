import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import * as crypto from 'node:crypto';
import { EntityManager, In, Repository } from 'typeorm';
import { normalizeAddress } from '../common/addresses';
import type { Page } from '../common/pagination';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { OUTBOX_KICK } from './outbox-kick.subscriber';
import { formatAddress, outboxFromRow } from './outbox-mail-options';
import { OutboxDispatcher } from './outbox.dispatcher';
import { OutboxMail, type OutboxStatus } from './outbox.entity';
import type { OutgoingMail } from './outgoing-mail';
import { bracketMessageId, buildReferences, cleanMessageId } from './references';

/** Delivery state of one conversation message, for the `delivery` field of the messages API. */
export interface MailDelivery {
  status: OutboxStatus;
  attempts: number;
  lastError: string | null;
  sentAt: Date | null;
}

/** Size of the outbox, for health checks. */
export interface OutboxBacklog {
  /** Rows waiting to be sent (due now or later). */
  pending: number;
  /** Pending rows whose time has come. */
  due: number;
  failed: number;
  /** next_attempt_at of the oldest due row, or null. */
  oldestDueAt: Date | null;
}

const EMAIL = /^[^\s@<>",;]+@[^\s@<>",;]+$/;

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
    @InjectRepository(OutboxMail) private readonly outbox: Repository<OutboxMail>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dispatcher: OutboxDispatcher,
  ) {}

  /**
   * Inserts the mail into the outbox with `manager` (the caller's transaction). Stores From, To,
   * Message-ID, In-Reply-To, a trimmed References chain and, for auto-replies, the RFC 3834
   * headers plus X-Loop. The dispatcher is woken when the transaction commits.
   */
  async enqueue(manager: EntityManager, mail: OutgoingMail): Promise<OutboxMail> {
    const to = normalizeAddress(mail.to);
    if (!EMAIL.test(to)) throw new Error(`outbox: "${mail.to}" is not an email address`);
    const messageId = cleanMessageId(mail.messageId);
    if (!messageId.includes('@')) throw new Error(`outbox: "${mail.messageId}" is not a Message-ID`);
    const from = this.config.mail.supportAddress;
    const headers: Record<string, string> = {
      'Message-ID': `<${messageId}>`,
      From: formatAddress(this.config.mail.supportName, from),
      To: formatAddress(mail.toName, to),
    };
    const inReplyTo = bracketMessageId(mail.inReplyTo);
    if (inReplyTo) headers['In-Reply-To'] = inReplyTo;
    const references = buildReferences(mail.references ?? [], mail.inReplyTo);
    if (references) headers['References'] = references;
    if (mail.autoReply) {
      headers['Auto-Submitted'] = 'auto-replied';
      headers['X-Auto-Response-Suppress'] = 'All';
      headers['X-Loop'] = from;
    }
    const rows: Record<string, unknown>[] = await manager.query(
      `INSERT INTO outbox (message_id, kind, to_address, from_address, subject, headers, text, html)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [
        mail.messageRowId ?? null,
        mail.kind,
        to,
        from,
        mail.subject.replace(/[\r\n]+\s*/g, ' ').trim(),
        JSON.stringify(headers),
        mail.text,
        mail.html ?? null,
      ],
    );
    const queryRunner = manager.queryRunner;
    if (queryRunner?.isTransactionActive) queryRunner.data[OUTBOX_KICK] = true;
    else this.dispatcher.kick();
    return outboxFromRow(rows[0]);
  }

  /** A new Message-ID of ours, `<random>@MESSAGE_ID_DOMAIN`, without angle brackets. */
  newMessageId(): string {
    return `${OWN_MESSAGE_ID_PREFIX}${Date.now().toString(36)}.${crypto.randomBytes(12).toString('hex')}@${this.config.mail.messageIdDomain}`;
  }

  /** Auto-replies enqueued to `address` since `since` (in the caller's transaction), for the rate limit. */
  async countAutoRepliesSince(manager: EntityManager, address: string, since: Date): Promise<number> {
    const rows: Array<{ n: number }> = await manager.query(
      `SELECT count(*)::int AS n FROM outbox WHERE to_address = $1 AND created_at >= $2 AND kind = 'auto_reply'`,
      [normalizeAddress(address), since],
    );
    return rows[0].n;
  }

  /** Delivery state per messages.id (the newest outbox row of each); messages never mailed are absent. */
  async deliveryFor(messageRowIds: number[]): Promise<Map<number, MailDelivery>> {
    const result = new Map<number, MailDelivery>();
    if (messageRowIds.length === 0) return result;
    const rows = await this.outbox.find({ where: { messageId: In(messageRowIds) }, order: { id: 'ASC' } });
    for (const r of rows) {
      result.set(r.messageId!, { status: r.status, attempts: r.attempts, lastError: r.lastError, sentAt: r.sentAt });
    }
    return result;
  }

  /** One page of outbox rows in one status, newest first. */
  async list(status: OutboxStatus, page: number, limit: number): Promise<Page<OutboxMail>> {
    const [items, total] = await this.outbox.findAndCount({
      where: { status },
      order: { id: 'DESC' },
      skip: (page - 1) * limit,
      take: limit,
    });
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
    const rows: Record<string, unknown>[] = await this.outbox.manager.query(
      `WITH r AS (
         UPDATE outbox SET status = 'pending', next_attempt_at = now(), locked_until = NULL
          WHERE id = $1 AND status = 'failed' RETURNING *)
       SELECT * FROM r`,
      [id],
    );
    if (rows.length === 0) {
      const existing = await this.outbox.findOne({ where: { id: String(id) } });
      if (!existing) throw new NotFoundException(`outbox mail ${id} does not exist`);
      throw new ConflictException(`outbox mail ${id} is ${existing.status}, only failed mail can be retried`);
    }
    this.dispatcher.kick();
    return outboxFromRow(rows[0]);
  }

  /** Pending, due and failed counts. */
  async backlog(): Promise<OutboxBacklog> {
    const rows: Array<{ pending: number; due: number; failed: number; oldest: Date | null }> =
      await this.outbox.manager.query(
        `SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
              count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= now())::int AS due,
              count(*) FILTER (WHERE status = 'failed')::int AS failed,
              min(next_attempt_at) FILTER (WHERE status = 'pending' AND next_attempt_at <= now()) AS oldest
         FROM outbox WHERE status <> 'sent'`,
      );
    const r = rows[0];
    return { pending: r.pending, due: r.due, failed: r.failed, oldestDueAt: r.oldest ? new Date(r.oldest) : null };
  }

  /** Asks the dispatcher to run soon (enqueue already does this on commit). */
  kick(): void {
    this.dispatcher.kick();
  }
}
