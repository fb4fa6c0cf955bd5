import { Column, Entity, OneToMany, PrimaryGeneratedColumn } from 'typeorm';
import { Attachment } from './attachment.entity';

export type MessageDirection = 'in' | 'out';
export type MessageKind = 'customer' | 'operator' | 'auto_reply' | 'system' | 'note';
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

  @Column('text')
  subject: string;

  @Column('text')
  text: string;

  @Column('text', { nullable: true })
  html: string | null;

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
