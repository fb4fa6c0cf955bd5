import { escapeHtml } from '../common/placeholders';
import type { AppConfig } from '../config/config';
import type { MailboxRecord } from '../mailboxes/mailbox';

/**
 * Who a mail is from: the mailbox of the request it is sent for (issue 18). Its address is the
 * From and the envelope's MAIL FROM, its name the From's display name, its signature ends the text.
 */
export interface MailIdentity {
  /** What the outbox row stores in mailbox_id: null for the default mailbox. */
  mailboxId: number | null;
  address: string;
  name: string;
  /** Appended to every mail sent from this mailbox; null: none. */
  signature: string | null;
}

/** What an identity is made of: a mailbox's row, or the part of it the outbox reads. */
export type MailboxSender = Pick<MailboxRecord, 'id' | 'isDefault' | 'address' | 'name' | 'signature' | 'state'>;

/** The identity of a mailbox (the default one is stored as null). */
export function identityOf(mailbox: MailboxSender): MailIdentity {
  return {
    mailboxId: mailbox.isDefault ? null : mailbox.id,
    address: mailbox.address,
    name: mailbox.name,
    signature: mailbox.signature?.trim() ? mailbox.signature : null,
  };
}

/** The identity the environment defines (SUPPORT_ADDRESS, SUPPORT_NAME): the default mailbox's before mailboxes. */
export function environmentIdentity(config: Pick<AppConfig, 'mail'>): MailIdentity {
  return { mailboxId: null, address: config.mail.supportAddress, name: config.mail.supportName, signature: null };
}

/** The usual signature separator (RFC 3676 4.3): mail clients recognise and may fold it. */
export const SIGNATURE_SEPARATOR = '-- ';

/**
 * One signature of the operator's (first: closer to their words) and the mailbox's, a blank line
 * between them, under a single `-- ` separator; null when neither has one.
 */
export function joinSignatures(operator: string | null | undefined, mailbox: string | null): string | null {
  const parts = [operator, mailbox].map((s) => s?.replace(/\r\n?/g, '\n').trim()).filter((s): s is string => !!s);
  return parts.length ? parts.join('\n\n') : null;
}

/**
 * The text and HTML with the signature appended: after `-- ` on its own line in the text; in the
 * HTML, escaped, line breaks kept, in a `div` after the body (before `</body>` when there is one).
 * Without a signature, both unchanged.
 */
export function withSignature(
  text: string,
  html: string | null,
  signature: string | null,
): { text: string; html: string | null } {
  const sig = signature?.replace(/\r\n?/g, '\n').trim();
  if (!sig) return { text, html };
  const signedText = `${text.replace(/\s+$/, '')}\n\n${SIGNATURE_SEPARATOR}\n${sig}\n`;
  if (html === null) return { text: signedText, html };
  const block = `<div class="signature">${SIGNATURE_SEPARATOR.trim()}<br>${escapeHtml(sig).replace(/\n/g, '<br>')}</div>`;
  const end = html.search(/<\/body\s*>/i);
  const signedHtml = end >= 0 ? `${html.slice(0, end)}${block}${html.slice(end)}` : `${html}${block}`;
  return { text: signedText, html: signedHtml };
}
