import { ApiProperty } from '@nestjs/swagger';

/** `GET /health/live`. */
export class LiveResponseDto {
  @ApiProperty({ example: 'ok' })
  status: 'ok';
}

export class ImapHealthDto {
  @ApiProperty({ example: true, description: 'false when IMAP_URL is not set' })
  enabled: boolean;

  @ApiProperty({ example: true, description: "this instance holds the mailbox's leader lock and imports" })
  leader: boolean;

  @ApiProperty({ type: String, nullable: true, example: '2026-11-25T09:00:00.000Z' })
  lastSuccessAt: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'the latest failure while no round has succeeded since',
  })
  lastError: string | null;

  @ApiProperty({ type: Number, nullable: true, example: 0, description: 'messages above the cursor at the last look' })
  backlog: number | null;
}

/** One mailbox in `GET /health/ready` (issue 18): its state and, with an IMAP URL, its poller. */
export class MailboxHealthDto {
  @ApiProperty({ example: 1 })
  id: number;

  @ApiProperty({ example: 'support@example.com' })
  address: string;

  @ApiProperty({ example: true, description: 'the mailbox IMAP_URL, SMTP_URL and SUPPORT_ADDRESS define' })
  isDefault: boolean;

  @ApiProperty({
    enum: ['active', 'needs_reauthorization', 'error', 'disabled'],
    example: 'active',
    description:
      '`error`: its last IMAP round failed (polling goes on); `needs_reauthorization` and `disabled`: not polled until an admin acts',
  })
  state: string;

  @ApiProperty({ example: true, description: 'the mailbox has an IMAP URL (else the fields below are empty)' })
  imap: boolean;

  @ApiProperty({ example: true, description: 'this instance leads the mailbox and imports from it' })
  leader: boolean;

  @ApiProperty({ type: String, nullable: true, example: '2026-11-25T09:00:00.000Z' })
  lastSuccessAt: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'the latest failure while no round has succeeded since',
  })
  lastError: string | null;

  @ApiProperty({ type: Number, nullable: true, example: 0, description: 'messages above the cursor at the last look' })
  backlog: number | null;
}

/** One read replica in `GET /health/ready` (docs/replicas.md). */
export class ReplicaHealthDto {
  @ApiProperty({ example: 'db-replica-1:5432/maildesk', description: 'host:port/database' })
  name: string;

  @ApiProperty({ example: true, description: 'lists, searches, reports and exports may be read from it' })
  healthy: boolean;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 0,
    description: 'how far behind the primary, in ms (null: unknown)',
  })
  lagMs: number | null;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'why it is skipped' })
  reason: string | null;
}

export class OutboxHealthDto {
  @ApiProperty({ example: 0, description: 'mails waiting to be sent' })
  pending: number;

  @ApiProperty({ example: 0, description: 'pending mails whose time has come' })
  due: number;

  @ApiProperty({ example: 0, description: 'mails that failed for good (see GET /outbox?status=failed)' })
  failed: number;

  @ApiProperty({ type: String, nullable: true, example: null })
  oldestDueAt: string | null;
}

/** `GET /health/ready` when ready. */
export class ReadyResponseDto {
  @ApiProperty({ example: 'ok' })
  status: 'ok';

  @ApiProperty({ example: 'up' })
  database: 'up';

  @ApiProperty({ example: 'applied', description: 'Every migration is applied.' })
  migrations: 'applied';

  @ApiProperty({ type: ImapHealthDto, description: "the default mailbox's IMAP poller" })
  imap: ImapHealthDto;

  @ApiProperty({
    type: [MailboxHealthDto],
    description:
      'every mailbox with its poller; a mailbox in error or waiting for re-authorization shows here but does not make the instance unready',
  })
  mailboxes: MailboxHealthDto[];

  @ApiProperty({ type: OutboxHealthDto })
  outbox: OutboxHealthDto;

  @ApiProperty({
    type: [ReplicaHealthDto],
    description:
      'the read replicas of DATABASE_REPLICA_URLS (empty without); one down or lagging is skipped and does not make the instance unready',
  })
  replicas: ReplicaHealthDto[];
}
