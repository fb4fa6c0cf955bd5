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

  /** The raw mail's bytes, for rows stored before blob storage (`maildesk blobs migrate` moves them); null otherwise. */
  @Column('bytea', { select: false, nullable: true })
  raw: Buffer | null;

  /** The raw mail's blob (src/blobs/); null for an old row still holding `raw`, or once retention dropped it. */
  @Column('text', { name: 'raw_sha256', nullable: true })
  rawSha256: string | null;

  /** When retention (RAW_MAIL_RETENTION_DAYS) dropped the raw mail; null while it is kept. */
  @Column('timestamptz', { name: 'raw_expired_at', nullable: true })
  rawExpiredAt: Date | null;

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
