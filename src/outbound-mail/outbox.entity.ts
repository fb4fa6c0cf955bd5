import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type OutboxStatus = 'pending' | 'sent' | 'failed';

@Entity('outbox')
export class OutboxMail {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  /** The conversation message this mail delivers (messages.id), when there is one. */
  @Column('integer', { name: 'message_id', nullable: true })
  messageId: number | null;

  @Column('text')
  kind: string;

  @Column('text', { name: 'to_address' })
  toAddress: string;

  @Column('text', { name: 'from_address' })
  fromAddress: string;

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
