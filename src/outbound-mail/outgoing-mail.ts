import type { MailIdentity } from './mail-identity';

/** What a module hands to `OutboxService.enqueue` inside its transaction. */
export interface OutgoingMail {
  /** Who it is from: the request's mailbox (OutboxService.identityFor); absent: SUPPORT_ADDRESS, as before mailboxes. */
  from?: MailIdentity;
  /** 'auto_reply' | 'operator' | ...: kept on the outbox row. */
  kind: string;
  /** The recipient's bare address (stored lower-cased). */
  to: string;
  /** The recipient's display name for the To header, when known. */
  toName?: string | null;
  /** Cc recipients (a request's participants by default for operator mail): in the Cc header and the envelope. */
  cc?: ReadonlyArray<{ address: string; name?: string | null }>;
  /** Bcc recipients: in the envelope only. */
  bcc?: readonly string[];
  /** The files to carry by attachments.id (a forward); absent: those of the message it delivers (operator mail). */
  attachmentIds?: readonly number[] | null;
  subject: string;
  text: string;
  html?: string | null;
  /** Our own Message-ID, without <> (see OutboxService.newMessageId). */
  messageId: string;
  inReplyTo?: string | null;
  references?: string[];
  /** Adds `Auto-Submitted: auto-replied` and `X-Auto-Response-Suppress: All` (RFC 3834). */
  autoReply?: boolean;
  /**
   * The writing operator's signature (operator messages only): it ends the mail, before the
   * mailbox's signature, after the one `-- ` separator. Not part of the stored conversation message.
   */
  operatorSignature?: string | null;
  /** messages.id of the conversation message this mail delivers. */
  messageRowId?: number | null;
}

export type AutoReplyEvent = 'created' | 'assigned' | 'closed';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}
