import type { Readable } from 'node:stream';
import { BlobsService } from '../blobs/blobs.service';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { DeliveryState } from '../database/lease-queue';
import { LeaseQueueRepository, type LeaseStore } from '../database/lease-queue.repository';
import type { MailboxState } from '../mailboxes/mailbox';
import type { MailboxSender } from './mail-identity';
import type { OutboxAttachment } from './outbox-mail-options';
import { OutboxMail, type OutboxStatus } from './outbox.entity';

/** The statements of the outbox table (written to outbox.repository.sql by `npm run sql`); its queue's are lease-queue.repository.ts's. */
export const SQL = {
  insert: `INSERT INTO outbox (message_id, kind, to_address, from_address, subject, headers, text, html, mailbox_id,
                      cc_addresses, bcc_addresses, attachment_ids)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
  /** Who mail of mailbox $1 is from (read in the caller's transaction, so never waiting on another connection). */
  senderOf: `SELECT id, is_default, address, name, signature, state FROM mailboxes WHERE id = $1`,
  /** Who mail of the default mailbox (mailbox_id NULL) is from. */
  defaultSender: `SELECT id, is_default, address, name, signature, state FROM mailboxes WHERE is_default`,
  /**
   * Mail of mailboxes that changed (mailbox_id = ANY ($1); the default mailbox's too when $2) is due
   * now: what waited for a re-authorization, or for new settings, goes out at once.
   */
  wakeMailboxes: `UPDATE outbox SET next_attempt_at = now()
    WHERE status = 'pending' AND next_attempt_at > now()
      AND (mailbox_id = ANY ($1::int[]) OR ($2 AND mailbox_id IS NULL))`,
  countAutoRepliesSince: `SELECT count(*)::int AS n FROM outbox WHERE to_address = $1 AND created_at >= $2 AND kind = 'auto_reply'`,
  deliveryOf: `SELECT message_id, status, attempts, last_error, sent_at FROM outbox WHERE message_id = ANY ($1) ORDER BY id`,
  page: `SELECT * FROM outbox WHERE status = $1 ORDER BY id DESC OFFSET $2 LIMIT $3`,
  count: `SELECT count(*)::int AS n FROM outbox WHERE status = $1`,
  findById: `SELECT * FROM outbox WHERE id = $1`,
  requeueFailed: `WITH r AS (
      UPDATE outbox SET status = 'pending', next_attempt_at = now(), locked_until = NULL
       WHERE id = $1 AND status = 'failed' RETURNING *)
    SELECT * FROM r`,
  backlog: `SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
      count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= now())::int AS due,
      count(*) FILTER (WHERE status = 'failed')::int AS failed,
      min(next_attempt_at) FILTER (WHERE status = 'pending' AND next_attempt_at <= now()) AS oldest
    FROM outbox WHERE status <> 'sent'`,
  /** The files of an operator's message (an outbox row carries them by its messages.id). */
  attachmentsOf: `SELECT filename, content_type, content_id, sha256, content FROM attachments WHERE message_id = $1 ORDER BY id`,
  /** The files a forward carries, by attachments.id, in the order given. */
  attachmentsByIds: `SELECT a.filename, a.content_type, a.content_id, a.sha256, a.content
    FROM unnest($1::int[]) WITH ORDINALITY AS w(id, n) JOIN attachments a ON a.id = w.id ORDER BY w.n`,
  /** Run with the lease queue's `done` (the row just sent): the conversation message it carried is sent too. */
  messageSent: `UPDATE messages m SET sent_at = now() FROM done WHERE m.id = done.message_id AND m.sent_at IS NULL`,
} as const;

/** A mail to insert: the columns OutboxService computed. */
export interface NewOutboxMail {
  /** messages.id of the conversation message it delivers, or null. */
  messageRowId: number | null;
  kind: string;
  toAddress: string;
  fromAddress: string;
  subject: string;
  headers: Record<string, string>;
  text: string;
  html: string | null;
  /** The mailbox it is sent for; null: the default mailbox. */
  mailboxId: number | null;
  /** Cc recipients, bare lower-cased addresses. */
  ccAddresses: string[];
  /** Bcc recipients, bare lower-cased addresses (envelope only). */
  bccAddresses: string[];
  /** The files it carries by attachments.id; null: its conversation message's (operator mail). */
  attachmentIds: number[] | null;
}

/** Delivery state of one conversation message, for the `delivery` field of the messages API. */
export interface MailDelivery extends DeliveryState<'sent'> {
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

const dateOrNull = (v: unknown): Date | null => (v ? new Date(v as string | Date) : null);

/** An outbox row as returned by raw SQL (`RETURNING *`), as the entity. */
export function outboxFromRow(row: Record<string, unknown>): OutboxMail {
  const m = new OutboxMail();
  m.id = String(row.id);
  m.messageId = row.message_id === null || row.message_id === undefined ? null : Number(row.message_id);
  m.kind = row.kind as string;
  m.mailboxId = row.mailbox_id === null || row.mailbox_id === undefined ? null : Number(row.mailbox_id);
  m.toAddress = row.to_address as string;
  m.fromAddress = row.from_address as string;
  m.ccAddresses = (row.cc_addresses as string[] | null | undefined) ?? [];
  m.bccAddresses = (row.bcc_addresses as string[] | null | undefined) ?? [];
  m.attachmentIds = (row.attachment_ids as number[] | null | undefined) ?? null;
  m.subject = row.subject as string;
  m.headers = (typeof row.headers === 'string' ? JSON.parse(row.headers) : row.headers) as Record<string, string>;
  m.text = row.text as string;
  m.html = (row.html as string | null) ?? null;
  m.status = row.status as OutboxStatus;
  m.attempts = Number(row.attempts);
  m.nextAttemptAt = new Date(row.next_attempt_at as string | Date);
  m.lockedUntil = dateOrNull(row.locked_until);
  m.lastError = (row.last_error as string | null) ?? null;
  m.sentAt = dateOrNull(row.sent_at);
  m.createdAt = new Date(row.created_at as string | Date);
  return m;
}

/** What the outbound-mail rules need of storage (OutboxService, OutboxDispatcher; in-memory fakes in unit tests). */
export interface OutboxStore {
  /** The outbox as a lease queue: what the dispatcher claims and marks. */
  readonly leases: LeaseStore<OutboxMail>;
  /** Inserts a mail, pending and due now, in the caller's transaction. */
  insert(manager: EntityManager, mail: NewOutboxMail): Promise<OutboxMail>;
  /** Auto-replies queued to `address` (lower-case) since `since`, in the caller's transaction. */
  countAutoRepliesSince(manager: EntityManager, address: string, since: Date): Promise<number>;
  /** The delivery state of every outbox row carrying one of the messages, oldest row first. */
  deliveryOf(messageRowIds: number[]): Promise<Array<MailDelivery & { messageRowId: number }>>;
  /** One page of rows in one status, newest first, and how many there are in it. */
  page(status: OutboxStatus, offset: number, limit: number): Promise<{ items: OutboxMail[]; total: number }>;
  findById(id: number): Promise<OutboxMail | null>;
  /** A failed row back to pending, due now (attempts kept); null when no failed row has this id. */
  requeueFailed(id: number): Promise<OutboxMail | null>;
  backlog(): Promise<OutboxBacklog>;
  /** The files of the conversation message `messageRowId`, in their order. */
  attachmentsOf(messageRowId: number): Promise<OutboxAttachment[]>;
  /** Files by attachments.id, in that order (a forward's). */
  attachmentsByIds(ids: number[]): Promise<OutboxAttachment[]>;
  /** Who mail of a mailbox (null: the default one) is from, in the caller's transaction; null when it has no row. */
  senderOf(manager: EntityManager, mailboxId: number | null): Promise<MailboxSender | null>;
  /** Pending mail of these mailboxes (and of the default one when `includeDefault`) is due now; how many rows. */
  wakeMailboxes(mailboxIds: number[], includeDefault: boolean): Promise<number>;
}

/** The outbox table. */
@Injectable()
export class OutboxRepository implements OutboxStore {
  readonly leases: LeaseQueueRepository<OutboxMail>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() @Inject(BlobsService) private readonly blobs?: Pick<BlobsService, 'open'>,
  ) {
    this.leases = new LeaseQueueRepository(
      dataSource,
      { table: 'outbox', doneStatus: 'sent', doneAt: 'sent_at', afterDone: SQL.messageSent },
      outboxFromRow,
    );
  }

  async insert(manager: EntityManager, mail: NewOutboxMail): Promise<OutboxMail> {
    const rows: Record<string, unknown>[] = await manager.query(SQL.insert, [
      mail.messageRowId,
      mail.kind,
      mail.toAddress,
      mail.fromAddress,
      mail.subject,
      JSON.stringify(mail.headers),
      mail.text,
      mail.html,
      mail.mailboxId,
      mail.ccAddresses,
      mail.bccAddresses,
      mail.attachmentIds,
    ]);
    return outboxFromRow(rows[0]);
  }

  async senderOf(manager: EntityManager, mailboxId: number | null): Promise<MailboxSender | null> {
    const rows: Array<{
      id: number;
      is_default: boolean;
      address: string;
      name: string;
      signature: string | null;
      state: MailboxState;
    }> = mailboxId === null ? await manager.query(SQL.defaultSender) : await manager.query(SQL.senderOf, [mailboxId]);
    const r = rows[0];
    return r
      ? { id: r.id, isDefault: r.is_default, address: r.address, name: r.name, signature: r.signature, state: r.state }
      : null;
  }

  async wakeMailboxes(mailboxIds: number[], includeDefault: boolean): Promise<number> {
    const [, affected]: [unknown, number] = await this.dataSource.query(SQL.wakeMailboxes, [
      mailboxIds,
      includeDefault,
    ]);
    return affected ?? 0;
  }

  async countAutoRepliesSince(manager: EntityManager, address: string, since: Date): Promise<number> {
    const rows: Array<{ n: number }> = await manager.query(SQL.countAutoRepliesSince, [address, since]);
    return rows[0].n;
  }

  async deliveryOf(messageRowIds: number[]): Promise<Array<MailDelivery & { messageRowId: number }>> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(SQL.deliveryOf, [messageRowIds]);
    return rows.map((r) => ({
      messageRowId: Number(r.message_id),
      status: r.status as OutboxStatus,
      attempts: Number(r.attempts),
      lastError: (r.last_error as string | null) ?? null,
      sentAt: dateOrNull(r.sent_at),
    }));
  }

  async page(status: OutboxStatus, offset: number, limit: number): Promise<{ items: OutboxMail[]; total: number }> {
    const [rows, counted]: [Record<string, unknown>[], Array<{ n: number }>] = await Promise.all([
      this.dataSource.query(SQL.page, [status, offset, limit]),
      this.dataSource.query(SQL.count, [status]),
    ]);
    return { items: rows.map(outboxFromRow), total: counted[0].n };
  }

  async findById(id: number): Promise<OutboxMail | null> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(SQL.findById, [id]);
    return rows[0] ? outboxFromRow(rows[0]) : null;
  }

  async requeueFailed(id: number): Promise<OutboxMail | null> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(SQL.requeueFailed, [id]);
    return rows[0] ? outboxFromRow(rows[0]) : null;
  }

  async backlog(): Promise<OutboxBacklog> {
    const rows: Array<{ pending: number; due: number; failed: number; oldest: Date | null }> =
      await this.dataSource.query(SQL.backlog);
    const r = rows[0];
    return { pending: r.pending, due: r.due, failed: r.failed, oldestDueAt: dateOrNull(r.oldest) };
  }

  async attachmentsOf(messageRowId: number): Promise<OutboxAttachment[]> {
    return this.opened(await this.dataSource.query(SQL.attachmentsOf, [messageRowId]));
  }

  async attachmentsByIds(ids: number[]): Promise<OutboxAttachment[]> {
    if (ids.length === 0) return [];
    return this.opened(await this.dataSource.query(SQL.attachmentsByIds, [ids]));
  }

  /**
   * The files with their bytes: an old row's own, else a stream from the blob store (nodemailer
   * reads it as it writes the mail: no whole file in memory here). Opened in order; a failure
   * closes those already opened and throws (BlobStoreUnavailableError: the mail is retried later).
   */
  private async opened(rows: AttachmentRow[]): Promise<OutboxAttachment[]> {
    const files: OutboxAttachment[] = [];
    try {
      for (const a of rows) {
        let content: Buffer | Readable;
        if (a.content) content = a.content;
        else if (this.blobs) content = (await this.blobs.open(a.sha256)).stream;
        else throw new Error(`attachment ${a.sha256} is in the blob store, and no blob store was given`);
        files.push({ filename: a.filename, contentType: a.content_type, contentId: a.content_id, content });
      }
      return files;
    } catch (e) {
      closeAttachments(files);
      throw e;
    }
  }
}

/** An attachment as the outbox reads it. */
interface AttachmentRow {
  filename: string;
  content_type: string;
  content_id: string | null;
  sha256: string;
  content: Buffer | null;
}

/** Closes the blob streams of files that were not (or not wholly) sent. */
export function closeAttachments(files: readonly OutboxAttachment[]): void {
  for (const f of files) if (!Buffer.isBuffer(f.content)) f.content.destroy();
}
