import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Per IMAP mailbox: what has been imported (UIDVALIDITY + last UID), not the \Seen flag. */
@Entity('mailbox_cursors')
export class MailboxCursor {
  @PrimaryColumn('text')
  mailbox: string;

  @Column('bigint', { name: 'uid_validity' })
  uidValidity: string;

  @Column('bigint', { name: 'last_uid' })
  lastUid: string;

  @Column('timestamptz', { name: 'last_success_at', nullable: true })
  lastSuccessAt: Date | null;

  @Column('text', { name: 'last_error', nullable: true })
  lastError: string | null;

  @Column('timestamptz', { name: 'last_error_at', nullable: true })
  lastErrorAt: Date | null;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt: Date;
}
