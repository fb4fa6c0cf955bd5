import type { SendMailOptions } from 'nodemailer';
import { OutboxMail, type OutboxStatus } from './outbox.entity';

/** The headers that have their own nodemailer option (everything else is passed through). */
const OWN_OPTIONS = ['Message-ID', 'In-Reply-To', 'References', 'From', 'To'];

/** An outbox row as returned by raw SQL (`RETURNING *`), as the entity. */
export function outboxFromRow(row: Record<string, unknown>): OutboxMail {
  const m = new OutboxMail();
  m.id = String(row.id);
  m.messageId = row.message_id === null || row.message_id === undefined ? null : Number(row.message_id);
  m.kind = row.kind as string;
  m.toAddress = row.to_address as string;
  m.fromAddress = row.from_address as string;
  m.subject = row.subject as string;
  m.headers = (typeof row.headers === 'string' ? JSON.parse(row.headers) : row.headers) as Record<string, string>;
  m.text = row.text as string;
  m.html = (row.html as string | null) ?? null;
  m.status = row.status as OutboxStatus;
  m.attempts = Number(row.attempts);
  m.nextAttemptAt = new Date(row.next_attempt_at as string | Date);
  m.lockedUntil = row.locked_until ? new Date(row.locked_until as string | Date) : null;
  m.lastError = (row.last_error as string | null) ?? null;
  m.sentAt = row.sent_at ? new Date(row.sent_at as string | Date) : null;
  m.createdAt = new Date(row.created_at as string | Date);
  return m;
}

/** A file a mail carries: an attachment of the conversation message the outbox row delivers. */
export interface OutboxAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

/**
 * The nodemailer message for an outbox row (with its message's files as attachments): our Message-ID, threading headers, From/To as stored
 * at enqueue time, Date = when the mail was written, text + HTML alternative, and the envelope
 * (MAIL FROM the support address, RCPT TO the one recipient). Content never reads files or URLs.
 */
export function toMailOptions(row: OutboxMail, attachments: OutboxAttachment[] = []): SendMailOptions {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(row.headers ?? {})) {
    if (!OWN_OPTIONS.includes(k)) headers[k] = v;
  }
  const h = row.headers ?? {};
  return {
    messageId: h['Message-ID'],
    inReplyTo: h['In-Reply-To'] || undefined,
    references: h['References'] || undefined,
    from: h['From'] || row.fromAddress,
    to: h['To'] || row.toAddress,
    subject: row.subject,
    date: row.createdAt,
    text: row.text,
    html: row.html ?? undefined,
    ...(attachments.length
      ? {
          attachments: attachments.map((a) => ({
            filename: a.filename,
            contentType: a.contentType,
            content: a.content,
          })),
        }
      : {}),
    headers,
    envelope: { from: row.fromAddress, to: [row.toAddress] },
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** `"Name" <address>` with the name quoted, or the bare address when there is no name. */
export function formatAddress(name: string | null | undefined, address: string): string {
  const clean = (name ?? '').replace(/[\r\n]+/g, ' ').trim();
  return clean ? `"${clean.replace(/["\\]/g, '\\$&')}" <${address}>` : address;
}
