import type { NewAttachment } from '../../messages/messages.service';

/**
 * Our own view of an email, made at the edge by `parseMail`; nothing downstream imports mailparser.
 * Addresses are lower-cased bare addresses; Message-IDs have no angle brackets.
 */
export interface MailAddress {
  address: string;
  name: string;
}

/**
 * Where the sender (`ParsedMail.from`) was found: From, or, when From has no usable address, the
 * first of Sender, Reply-To, Return-Path with one; `envelope` is set at ingest (mbox `From ` line).
 */
export type SenderSource = 'from' | 'sender' | 'reply-to' | 'return-path' | 'envelope';

/**
 * A file of a mail: what the messages module stores of an attachment (NewAttachment; inbound-mail
 * depends on messages, not the other way round), and whether the mail shows it inline.
 */
export interface ParsedAttachment extends NewAttachment {
  /** true for parts shown inline (cid: images of the HTML body). */
  inline: boolean;
}

export interface ParsedMail {
  /** Message-ID header, without <>; null when the mail has none. */
  messageId: string | null;
  inReplyTo: string | null;
  /** References ids, oldest first: the last MAX_REFERENCES (./limits.ts) of the header. */
  references: string[];
  /** The sender: From's mailbox, or a fallback (see senderSource); null when no header has an address. */
  from: MailAddress | null;
  /** Where `from` was found; null with `from`. */
  senderSource: SenderSource | null;
  /** Reply-To when present. */
  replyTo: MailAddress | null;
  to: MailAddress[];
  cc: MailAddress[];
  subject: string;
  date: Date | null;
  text: string;
  html: string | null;
  /**
   * The HTML through the allow-list (src/common/safe-html.ts), made in the parse thread so the
   * event loop never sanitizes inbound mail; absent or null: none made (no HTML, or parsed elsewhere).
   */
  safeHtml?: string | null;
  attachments: ParsedAttachment[];
  /** Every header, names lower-cased, values as raw (unfolded) strings; repeated headers joined by '\n'. */
  headers: Map<string, string>;
  /** Content-Type of the top part, lower-cased, without parameters (e.g. `multipart/report`). */
  contentType: string;
  /** `report-type` parameter of a multipart/report top part, lower-cased. */
  reportType: string | null;
  /** Size of the raw mail in bytes. */
  size: number;
  /**
   * The new text: `text` without the quoted history and the signature (./visible-text.ts, computed
   * here in the parse worker); null or absent when it is the whole text.
   */
  visibleText?: string | null;
  /**
   * The sender's language from Content-Language or Accept-Language (mail-locale.ts), canonical
   * case; null or absent: not stated. Becomes the locale of a customer this mail creates.
   */
  locale?: string | null;
}
