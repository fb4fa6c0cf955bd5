import { Inject, Injectable, Logger, NotFoundException, ConflictException, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { BlocklistService } from '../blocklist/blocklist.service';
import { ByteBudget } from '../common/byte-budget';
import { sha256Hex } from '../common/sha256';
import { isDatabaseUnavailable } from '../database/database-errors';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ConversationService } from '../messages/conversation.service';
import { MessagesService } from '../messages/messages.service';
import { MetricsService } from '../metrics/metrics.service';
import { OutboxService } from '../outbound-mail/outbox.service';
import { RequestsService } from '../requests/requests.service';
import { WEBHOOK_TEXT_LIMIT } from '../webhooks/webhook-events';
import { WebhooksService } from '../webhooks/webhooks.service';
import { runFilters } from './filters';
import { FilterDecision } from './filters/filter';
import { InboundMail, InboundSource } from './inbound-mail.entity';
import { IngestResult } from './ingest-result';
import { envelopeSender } from './parser/addresses';
import { MailParseError } from './parser/mail-parse-error';
import { parseFailureReason } from './parser/parse-failure-reason';
import { ParsePool } from './parser/parse-pool';
import { ParsedMail } from './parser/parsed-mail';
import { resolveThread } from './threading/thread-resolver';

/** How one email is ingested. */
export interface IngestOptions {
  /** Old mail imported as history (CLI): stored as usual, never answered with an auto-reply. */
  history?: boolean;
  /**
   * The envelope sender (the mbox `From ` line, SMTP MAIL FROM): the sender of last resort when no
   * header has an address (`senderSource: 'envelope'`).
   */
  envelopeFrom?: string | null;
}

/** Thrown inside the ingest transaction to roll it back and answer `duplicate`. */
class DuplicateMail extends Error {}

/** Outcome of the transaction for one accepted email. */
interface Stored {
  status: 'created' | 'appended' | 'ignored';
  requestId: number | null;
  messageRowId: number | null;
  reason: string | null;
  autoReplyQueued: boolean;
}

/** Message-IDs quoted anywhere in the raw mail (a bounce quotes the mail it returns). */
function quotedMessageIds(raw: Buffer): string[] {
  const text = raw.toString('latin1');
  return [...text.matchAll(/^Message-ID:\s*<([^<>\s]+)>/gim)].map((m) => m[1]);
}

/**
 * The one inbound pipeline for the webhook, the IMAP poller and the CLI:
 * parse -> filters -> dedupe -> threading -> one transaction -> typed result. Nothing is dropped:
 * every raw email is kept in inbound_mail, unprocessable ones as `quarantined` with the reason.
 * Throws only when the database is unreachable (the caller retries later).
 */
@Injectable()
export class InboundMailService {
  private readonly logger = new Logger(InboundMailService.name);
  private readonly ingestBudget: ByteBudget;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly requests: RequestsService,
    private readonly messages: MessagesService,
    private readonly conversation: ConversationService,
    private readonly outbox: OutboxService,
    private readonly blocklist: BlocklistService,
    private readonly webhooks: WebhooksService,
    private readonly parser: ParsePool,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.ingestBudget = new ByteBudget(config.mail.ingestBytes);
  }

  /**
   * Ingests one raw email. `history` (the CLI's imports of old mail) stores it like any other but
   * sends no auto-reply.
   */
  async ingest(raw: Buffer, source: InboundSource, options: IngestOptions = {}): Promise<IngestResult> {
    // A mail takes several times its size while it is parsed and written: large ones take turns.
    await this.ingestBudget.acquire(raw.length);
    let result: IngestResult;
    try {
      result = await this.ingestUncounted(raw, source, options);
    } finally {
      this.ingestBudget.release(raw.length);
    }
    this.metrics?.countIngested(source, result.status);
    return result;
  }

  private async ingestUncounted(raw: Buffer, source: InboundSource, options: IngestOptions): Promise<IngestResult> {
    if (raw.length > this.config.mail.maxInboundBytes) {
      return this.quarantine(
        raw,
        source,
        `sha256:${await sha256Hex(raw)}`,
        null,
        `too large: ${raw.length} bytes (limit ${this.config.mail.maxInboundBytes})`,
      );
    }
    // The raw mail's hash (its key without a Message-ID) comes from the parse thread.
    let mail: ParsedMail;
    let hashKey: string;
    try {
      const parsed = await this.parser.parseHashed(raw);
      mail = parsed.mail;
      hashKey = `sha256:${parsed.rawSha256}`;
    } catch (e) {
      const known = e instanceof MailParseError ? e.rawSha256 : undefined;
      hashKey = `sha256:${known ?? (await sha256Hex(raw))}`;
      return this.quarantine(raw, source, hashKey, null, parseFailureReason(e));
    }
    const dedupeKey = mail.messageId ?? hashKey;
    try {
      return await this.process(raw, source, mail, dedupeKey, hashKey, options);
    } catch (e) {
      if (isDatabaseUnavailable(e)) throw e;
      this.logger.warn(`mail ${dedupeKey} quarantined: ${(e as Error).message}`);
      const reason = `processing failed: ${(e as Error).message}`;
      try {
        return await this.quarantine(raw, source, dedupeKey, mail, reason);
      } catch (again) {
        // A header value PostgreSQL cannot store as text (e.g. a NUL byte in the Message-ID): keep
        // the raw bytes under their hash, without the parsed fields.
        if (isDatabaseUnavailable(again)) throw again;
        return this.quarantine(
          raw,
          source,
          hashKey,
          null,
          `${reason}; header fields not storable: ${(again as Error).message}`,
        );
      }
    }
  }

  private async process(
    raw: Buffer,
    source: InboundSource,
    mail: ParsedMail,
    dedupeKey: string,
    hashKey: string,
    options: IngestOptions,
  ): Promise<IngestResult> {
    const envelope = mail.from ? null : envelopeSender(options.envelopeFrom);
    if (envelope) mail = { ...mail, from: envelope, senderSource: 'envelope' };
    let decision = runFilters(mail, this.config);
    // After the header filters (own mail, bounces stay what they are): the blocklist, a database check.
    if (decision.action === 'continue' || decision.action === 'automatic') {
      const blocked = await this.blocklist.match(mail.from?.address ?? '');
      if (blocked) decision = { action: 'ignore', reason: `sender is blocked: ${blocked.pattern}` };
    }
    if (decision.action === 'quarantine') return this.quarantine(raw, source, dedupeKey, mail, decision.reason);
    const sender = mail.from?.address ?? '';
    if (!sender && decision.action !== 'ignore' && decision.action !== 'bounce') {
      // Nor in Sender, Reply-To, Return-Path or the envelope (the reason is kept as it always was).
      return this.quarantine(raw, source, dedupeKey, mail, 'no sender address in From');
    }
    const messageId = mail.messageId ?? `${hashKey.slice(7, 39)}@no-message-id.invalid`;
    let stored: Stored;
    try {
      // PostgreSQL's default READ COMMITTED (not named: TypeORM would spend a round trip on SET TRANSACTION).
      stored = await this.dataSource.transaction(async (manager) => {
        const inboundId = await this.claim(manager, raw, source, mail, dedupeKey);
        const result = await this.store(manager, mail, messageId, sender, decision, raw, options);
        await manager.query(
          `UPDATE inbound_mail SET status = $2, reason = $3, request_id = $4, message_row_id = $5, processed_at = clock_timestamp()
           WHERE id = $1`,
          [inboundId, result.status, result.reason, result.requestId, result.messageRowId],
        );
        return result;
      });
    } catch (e) {
      if (e instanceof DuplicateMail)
        return {
          status: 'duplicate',
          requestId: await this.requestOf(dedupeKey),
          messageId,
          reason: 'already received',
        };
      throw e;
    }
    if (stored.autoReplyQueued) this.outbox.kick();
    return { status: stored.status, requestId: stored.requestId, messageId, reason: stored.reason };
  }

  /**
   * Inserts the raw mail under its dedupe key, first thing in the transaction: a concurrent copy
   * waits here for this one to commit, then finds the key taken. A quarantined copy is taken over,
   * and the row then keeps the bytes that were processed (a retry may differ from a broken copy).
   */
  private async claim(
    manager: EntityManager,
    raw: Buffer,
    source: InboundSource,
    mail: ParsedMail,
    dedupeKey: string,
  ): Promise<string> {
    const rows: Array<{ id: string }> = await manager.query(
      `INSERT INTO inbound_mail (source, dedupe_key, message_id, from_address, subject, size, raw, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'appended')
       ON CONFLICT (dedupe_key) DO UPDATE SET status = 'appended', attempts = inbound_mail.attempts + 1,
         source = EXCLUDED.source, message_id = EXCLUDED.message_id, from_address = EXCLUDED.from_address,
         subject = EXCLUDED.subject, size = EXCLUDED.size, raw = EXCLUDED.raw
         WHERE inbound_mail.status = 'quarantined'
       RETURNING id`,
      [source, dedupeKey, mail.messageId, mail.from?.address ?? null, mail.subject.slice(0, 1000), raw.length, raw],
    );
    if (!rows[0]) throw new DuplicateMail();
    return rows[0].id;
  }

  private async store(
    manager: EntityManager,
    mail: ParsedMail,
    messageId: string,
    sender: string,
    decision: FilterDecision,
    raw: Buffer,
    options: IngestOptions,
  ): Promise<Stored> {
    const none = { requestId: null, messageRowId: null, autoReplyQueued: false };
    if (decision.action === 'ignore') return { status: 'ignored', reason: decision.reason, ...none };
    if (decision.action === 'bounce') {
      const ids = [mail.inReplyTo, ...mail.references, ...quotedMessageIds(raw)].filter(
        (x): x is string => !!x && x !== mail.messageId,
      );
      // Only mail the desk sent can bounce back to it: a quoted customer Message-ID (backscatter,
      // forged bounces) attaches to nothing.
      const [requestId] = await this.messages.requestIdsForOwnMessageIds(manager, ids);
      if (requestId === undefined)
        return { status: 'ignored', reason: `${decision.reason}; refers to no mail the desk sent`, ...none };
      const message = await this.appendInbound(manager, requestId, mail, messageId, 'system');
      await this.requests.addEvent(manager, requestId, {
        type: 'bounce',
        actor: 'system',
        data: { messageId: message.id, reason: decision.reason },
      });
      return {
        status: 'appended',
        reason: decision.reason,
        requestId,
        messageRowId: message.id,
        autoReplyQueued: false,
      };
    }
    const automatic = decision.action === 'automatic';
    const thread = await resolveThread(manager, mail, sender, this.requests, this.messages);
    let requestId: number;
    let created = false;
    if (thread.kind === 'existing') {
      requestId = thread.requestId;
    } else {
      const customer = await this.requests.upsertCustomer(manager, sender, mail.from?.name || null);
      if (customer.blocked) return { status: 'ignored', reason: 'sender is blocked', ...none };
      const subject = mail.subject.trim() || '(no subject)';
      ({ id: requestId, created } = await this.requests.openRequestFor(
        manager,
        customer.id,
        subject,
        thread.previousRequestId,
      ));
    }
    const message = await this.appendInbound(manager, requestId, mail, messageId, 'customer');
    await this.requests.addEvent(manager, requestId, {
      type: created ? 'created' : 'message',
      actor: 'customer',
      data: { messageId: message.id, direction: 'in', ...(automatic ? { automatic: decision.reason } : {}) },
    });
    await this.notifyWebhooks(manager, requestId, created, mail, sender, message.id);
    const autoReplyQueued =
      created && !automatic && !options.history
        ? await this.conversation.sendAutoReply(manager, requestId, 'created')
        : false;
    return {
      status: created ? 'created' : 'appended',
      reason: automatic ? decision.reason : null,
      requestId,
      messageRowId: message.id,
      autoReplyQueued,
    };
  }

  /** Queues `request.created` (for a new request) and `message.received` in the ingest transaction. */
  private async notifyWebhooks(
    manager: EntityManager,
    requestId: number,
    created: boolean,
    mail: ParsedMail,
    sender: string,
    messageRowId: number,
  ) {
    const customer = { email: sender, name: mail.from?.name || null };
    const received = {
      event: 'message.received' as const,
      data: {
        requestId,
        messageId: messageRowId,
        from: customer,
        subject: mail.subject,
        text: mail.text.slice(0, WEBHOOK_TEXT_LIMIT),
        attachments: mail.attachments.map((a) => a.filename),
      },
    };
    await this.webhooks.enqueueAll(
      manager,
      created
        ? [
            {
              event: 'request.created',
              data: { requestId, subject: mail.subject.trim() || '(no subject)', customer },
            },
            received,
          ]
        : [received],
    );
  }

  private appendInbound(
    manager: EntityManager,
    requestId: number,
    mail: ParsedMail,
    messageId: string,
    kind: 'customer' | 'system',
  ) {
    return this.messages.append(manager, {
      requestId,
      direction: 'in',
      kind,
      fromAddress: mail.from?.address ?? '',
      fromName: mail.from?.name || null,
      senderSource: mail.senderSource,
      to: mail.to.map((a) => a.address),
      cc: mail.cc.map((a) => a.address),
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId,
      inReplyTo: mail.inReplyTo,
      references: mail.references,
      attachments: mail.attachments.map((a) => ({
        filename: a.filename,
        contentType: a.contentType,
        size: a.size,
        sha256: a.sha256,
        contentId: a.contentId,
        content: a.content,
      })),
    });
  }

  /** Keeps the raw mail with the reason; a copy that was already processed makes this a duplicate. */
  private async quarantine(
    raw: Buffer,
    source: InboundSource,
    dedupeKey: string,
    mail: ParsedMail | null,
    reason: string,
  ): Promise<IngestResult> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `INSERT INTO inbound_mail (source, dedupe_key, message_id, from_address, subject, size, raw, status, reason, processed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'quarantined', $8, clock_timestamp())
       ON CONFLICT (dedupe_key) DO UPDATE SET attempts = inbound_mail.attempts + 1, reason = EXCLUDED.reason,
         processed_at = EXCLUDED.processed_at
         WHERE inbound_mail.status = 'quarantined'
       RETURNING id`,
      [
        source,
        dedupeKey,
        mail?.messageId ?? null,
        mail?.from?.address ?? null,
        mail?.subject?.slice(0, 1000) ?? null,
        raw.length,
        raw,
        reason.slice(0, 2000),
      ],
    );
    if (!rows[0])
      return {
        status: 'duplicate',
        requestId: await this.requestOf(dedupeKey),
        messageId: mail?.messageId ?? null,
        reason: 'already received',
      };
    return { status: 'quarantined', requestId: null, messageId: mail?.messageId ?? null, reason };
  }

  private async requestOf(dedupeKey: string): Promise<number | null> {
    const rows: Array<{ request_id: number | null }> = await this.dataSource.query(
      `SELECT request_id FROM inbound_mail WHERE dedupe_key = $1`,
      [dedupeKey],
    );
    return rows[0]?.request_id ?? null;
  }

  /** Quarantined mail, newest first, without the raw bytes. */
  async listQuarantined(page: number, limit: number): Promise<{ items: InboundMail[]; total: number }> {
    const [items, total] = await this.dataSource.manager.findAndCount(InboundMail, {
      where: { status: 'quarantined' },
      order: { id: 'DESC' },
      skip: (page - 1) * limit,
      take: limit,
    });
    return { items, total };
  }

  /** Runs a quarantined mail through the pipeline again (after a fix); the row is taken over on success. */
  async replay(id: string): Promise<IngestResult> {
    const row = await this.dataSource.manager.findOne(InboundMail, {
      where: { id },
      select: { id: true, status: true, raw: true, source: true },
    });
    if (!row) throw new NotFoundException(`inbound mail ${id} does not exist`);
    if (row.status !== 'quarantined')
      throw new ConflictException(`inbound mail ${id} is ${row.status}, not quarantined`);
    const result = await this.ingest(row.raw, row.source);
    if (result.status !== 'quarantined') {
      // Stored under another key now (e.g. its Message-ID could be read after a parser fix).
      await this.dataSource.query(
        `UPDATE inbound_mail SET status = 'replayed', processed_at = clock_timestamp() WHERE id = $1 AND status = 'quarantined'`,
        [id],
      );
    }
    return result;
  }
}
