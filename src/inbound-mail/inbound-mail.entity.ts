import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Where a raw email came from; `smtp`/`lmtp`: the listeners; `ses`: Amazon SES through SNS (POST /inbound/ses). */
export type InboundSource = 'imap' | 'webhook' | 'cli' | 'smtp' | 'lmtp' | 'ses';
/** What became of a stored raw email; `duplicate` is never stored (the first copy is). */
export type InboundStatus = 'created' | 'appended' | 'ignored' | 'quarantined' | 'replayed';

@Entity('inbound_mail')
export class InboundMail {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column('text')
  source: InboundSource;

  /** The Message-ID, or `sha256:<hex>` of the raw mail when it has none. */
  @Column('text', { name: 'dedupe_key' })
  dedupeKey: string;

  @Column('text', { name: 'message_id', nullable: true })
  messageId: string | null;

  @Column('text', { name: 'from_address', nullable: true })
  fromAddress: string | null;

  @Column('text', { nullable: true })
  subject: string | null;

  @Column('integer')
  size: number;

  @Column('bytea', { select: false })
  raw: Buffer;

  @Column('text')
  status: InboundStatus;

  @Column('text', { nullable: true })
  reason: string | null;

  @Column('integer', { name: 'request_id', nullable: true })
  requestId: number | null;

  @Column('integer', { name: 'message_row_id', nullable: true })
  messageRowId: number | null;

  @Column('integer')
  attempts: number;

  @Column('timestamptz', { name: 'received_at' })
  receivedAt: Date;

  @Column('timestamptz', { name: 'processed_at', nullable: true })
  processedAt: Date | null;
}
