import { Column, Entity, OneToMany, PrimaryGeneratedColumn } from 'typeorm';
import { Attachment } from './attachment.entity';

export type MessageDirection = 'in' | 'out';
/**
 * `side`: a forward to a third party and the third party's answers (a side thread of the request;
 * never mailed to the customer or the participants).
 */
export type MessageKind = 'customer' | 'operator' | 'auto_reply' | 'system' | 'note' | 'side';
/** Where an inbound mail's sender was found: its From, or the first fallback with an address. */
export type SenderSource = 'from' | 'sender' | 'reply-to' | 'return-path' | 'envelope';

@Entity('messages')
export class Message {
  @PrimaryGeneratedColumn()
  id: number;

  @Column('integer', { name: 'request_id' })
  requestId: number;

  @Column('integer')
  seq: number;

  @Column('text')
  direction: MessageDirection;

  @Column('text')
  kind: MessageKind;

  @Column('integer', { name: 'operator_id', nullable: true })
  operatorId: number | null;

  @Column('text', { name: 'from_address' })
  fromAddress: string;

  @Column('text', { name: 'from_name', nullable: true })
  fromName: string | null;

  /** Inbound mail only: where from_address was found (From or a fallback); null for ours and older rows. */
  @Column('text', { name: 'sender_source', nullable: true })
  senderSource: SenderSource | null;

  @Column('text', { name: 'to_addresses', array: true })
  toAddresses: string[];

  @Column('text', { name: 'cc_addresses', array: true })
  ccAddresses: string[];

  /** An operator's Bcc (outgoing mail only): shown to operators, never in a header. */
  @Column('text', { name: 'bcc_addresses', array: true })
  bccAddresses: string[];

  @Column('text')
  subject: string;

  @Column('text')
  text: string;

  /** The HTML as written (inbound: as received); never served: clients get safeHtml. */
  @Column('text', { nullable: true })
  html: string | null;

  /** The HTML after the allow-list (what clients get); null when there is no HTML, or for rows older than it. */
  @Column('text', { name: 'safe_html', nullable: true })
  safeHtml: string | null;

  /** Inbound mail: the new text, without the quoted history and the signature; null: the same as text. */
  @Column('text', { name: 'visible_text', nullable: true })
  visibleText: string | null;

  /** The side thread (a forward to a third party) this message belongs to; null for the main conversation. */
  @Column('integer', { name: 'side_thread_id', nullable: true })
  sideThreadId: number | null;

  /** Without angle brackets. */
  @Column('text', { name: 'message_id' })
  messageId: string;

  @Column('text', { name: 'in_reply_to', nullable: true })
  inReplyTo: string | null;

  @Column('text', { array: true })
  references: string[];

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'sent_at', nullable: true })
  sentAt: Date | null;

  @OneToMany(() => Attachment, (a) => a.message)
  attachments?: Attachment[];
}
