import type { Readable } from 'node:stream';
import type { SendMailOptions } from 'nodemailer';
import type { OutboxMail } from './outbox.entity';

/** The headers that have their own nodemailer option (everything else is passed through). */
const OWN_OPTIONS = ['Message-ID', 'In-Reply-To', 'References', 'From', 'To', 'Cc'];

/** A file a mail carries: an attachment of the conversation message the outbox row delivers. */
export interface OutboxAttachment {
  filename: string;
  contentType: string;
  /** Content-ID without <> for a file the HTML shows inline (`cid:`): the mail becomes multipart/related. */
  contentId?: string | null;
  /** The bytes: a stream from the blob store (read as the mail is written), or an old row's bytes. */
  content: Buffer | Readable;
}

/**
 * The nodemailer message for an outbox row (with its message's files as attachments): our Message-ID, threading headers, From/To as stored
 * at enqueue time (Cc with the participants' names), Date = when the mail was written, text + HTML
 * alternative, files (inline ones by their Content-ID), and the envelope (MAIL FROM the mailbox's
 * address, RCPT TO the recipient, the Cc and the Bcc, each once). Content never reads files or URLs.
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
    ...(h['Cc'] ? { cc: h['Cc'] } : {}),
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
            ...(a.contentId ? { cid: a.contentId } : {}),
          })),
        }
      : {}),
    headers,
    envelope: { from: row.fromAddress, to: envelopeRecipients(row) },
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** `"Name" <address>` with the name quoted, or the bare address when there is no name. */
export function formatAddress(name: string | null | undefined, address: string): string {
  const clean = (name ?? '').replace(/[\r\n]+/g, ' ').trim();
  return clean ? `"${clean.replace(/["\\]/g, '\\$&')}" <${address}>` : address;
}

/** Every recipient of an outbox row once, in order: To, then Cc, then Bcc. */
export function envelopeRecipients(row: Pick<OutboxMail, 'toAddress' | 'ccAddresses' | 'bccAddresses'>): string[] {
  return [...new Set([row.toAddress, ...(row.ccAddresses ?? []), ...(row.bccAddresses ?? [])])];
}
