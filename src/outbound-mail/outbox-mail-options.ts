import type { SendMailOptions } from 'nodemailer';
import type { OutboxMail } from './outbox.entity';

/** The headers that have their own nodemailer option (everything else is passed through). */
const OWN_OPTIONS = ['Message-ID', 'In-Reply-To', 'References', 'From', 'To'];

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
