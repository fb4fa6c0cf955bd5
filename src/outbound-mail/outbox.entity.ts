import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { DeliveryStatus, QueuedDelivery } from '../database/lease-queue';

/** An outgoing mail is done when sent. */
export type OutboxStatus = DeliveryStatus<'sent'>;

/** One outgoing mail: what it says, and its delivery state in the outbox's lease queue. */
@Entity('outbox')
export class OutboxMail implements QueuedDelivery<'sent'> {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  /** The conversation message this mail delivers (messages.id), when there is one. */
  @Column('integer', { name: 'message_id', nullable: true })
  messageId: number | null;

  @Column('text')
  kind: string;

  /** The mailbox it is sent for (its From, its SMTP server): null for the default mailbox. */
  @Column('integer', { name: 'mailbox_id', nullable: true })
  mailboxId: number | null;

  @Column('text', { name: 'to_address' })
  toAddress: string;

  @Column('text', { name: 'from_address' })
  fromAddress: string;

  /** The Cc recipients (bare addresses; the Cc header has their names): envelope recipients too. */
  @Column('text', { name: 'cc_addresses', array: true })
  ccAddresses: string[];

  /** The Bcc recipients: envelope recipients only, never in a header. */
  @Column('text', { name: 'bcc_addresses', array: true })
  bccAddresses: string[];

  /**
   * The files the mail carries by attachments.id (a forward: files of other messages); null: the
   * files of the conversation message it delivers (operator mail).
   */
  @Column('integer', { name: 'attachment_ids', array: true, nullable: true })
  attachmentIds: number[] | null;

  @Column('text')
  subject: string;

  /** Extra headers: Message-ID, In-Reply-To, References, Auto-Submitted, ... */
  @Column('jsonb')
  headers: Record<string, string>;

  @Column('text')
  text: string;

  @Column('text', { nullable: true })
  html: string | null;

  @Column('text')
  status: OutboxStatus;

  @Column('integer')
  attempts: number;

  @Column('timestamptz', { name: 'next_attempt_at' })
  nextAttemptAt: Date;

  @Column('timestamptz', { name: 'locked_until', nullable: true })
  lockedUntil: Date | null;

  @Column('text', { name: 'last_error', nullable: true })
  lastError: string | null;

  @Column('timestamptz', { name: 'sent_at', nullable: true })
  sentAt: Date | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;
}
