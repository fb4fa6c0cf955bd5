import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQuery, PageDtoOf } from '../../common/pagination';
import type { OutboxMail, OutboxStatus } from '../outbox.entity';

const STATUSES: OutboxStatus[] = ['pending', 'sent', 'failed'];

/** Query of GET /outbox. */
export class OutboxListQuery extends PageQuery {
  /** Which mail to list. */
  @ApiProperty({ required: false, enum: STATUSES, default: 'failed', example: 'failed' })
  @IsOptional()
  @IsIn(STATUSES)
  status: OutboxStatus = 'failed';
}

/** One outgoing mail and its delivery state. */
export class OutboxMailResponse {
  @ApiProperty({ example: 17 })
  id: number;

  @ApiProperty({ example: 'auto_reply', description: "'auto_reply' or 'operator'" })
  kind: string;

  @ApiProperty({ example: 'ada@example.com' })
  to: string;

  @ApiProperty({ example: '[#42] We received your request: Printer on fire' })
  subject: string;

  @ApiProperty({ example: '1764057600.a8Fj3kq0Lz@desk.example.com', description: 'Message-ID, without angle brackets' })
  messageId: string;

  @ApiProperty({
    example: 58,
    nullable: true,
    type: Number,
    description: 'messages.id of the conversation message it carries',
  })
  messageRowId: number | null;

  @ApiProperty({ enum: STATUSES, example: 'failed' })
  status: OutboxStatus;

  @ApiProperty({ example: 3, description: 'Send attempts so far' })
  attempts: number;

  @ApiProperty({ example: '2025-11-25T09:00:00.000Z', description: 'When the next attempt is due (pending mail)' })
  nextAttemptAt: string;

  @ApiProperty({ example: 'EENVELOPE: 550 5.1.1 <ada@example.com>: mailbox unavailable', nullable: true, type: String })
  lastError: string | null;

  @ApiProperty({ example: null, nullable: true, type: String, format: 'date-time' })
  sentAt: string | null;

  @ApiProperty({ example: '2025-11-25T08:58:00.000Z' })
  createdAt: string;
}

/** One page of outgoing mail. */
export class OutboxPageResponse extends PageDtoOf(OutboxMailResponse) {}

/** The API view of an outbox row. */
export function toOutboxMailResponse(m: OutboxMail): OutboxMailResponse {
  return {
    id: Number(m.id),
    kind: m.kind,
    to: m.toAddress,
    subject: m.subject,
    messageId: (m.headers?.['Message-ID'] ?? '').replace(/^<|>$/g, ''),
    messageRowId: m.messageId,
    status: m.status,
    attempts: m.attempts,
    nextAttemptAt: m.nextAttemptAt.toISOString(),
    lastError: m.lastError,
    sentAt: m.sentAt ? m.sentAt.toISOString() : null,
    createdAt: m.createdAt.toISOString(),
  };
}
