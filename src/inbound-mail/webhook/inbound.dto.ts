import { PageDtoOf } from '../../common/pagination';
import { ApiProperty } from '@nestjs/swagger';
import { InboundMail } from '../inbound-mail.entity';
import { IngestResult } from '../ingest-result';

export class IngestResultDto implements IngestResult {
  @ApiProperty({ enum: ['created', 'appended', 'duplicate', 'ignored', 'quarantined'], example: 'created' })
  status: IngestResult['status'];

  @ApiProperty({ type: Number, nullable: true, example: 42 })
  requestId: number | null;

  @ApiProperty({ type: String, nullable: true, example: 'CAF1x9Q@mail.example.com' })
  messageId: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'why it was ignored, quarantined or a duplicate',
  })
  reason: string | null;
}

export class IngestResponseDto {
  @ApiProperty({ type: [IngestResultDto], description: 'one result per email, in the order processed' })
  results: IngestResultDto[];
}

export class QuarantinedMailDto {
  @ApiProperty({ example: '17' })
  id: string;

  @ApiProperty({ enum: ['imap', 'webhook', 'cli', 'ses'], example: 'imap' })
  source: string;

  @ApiProperty({ type: String, nullable: true, example: 'broken@mail.example.com' })
  messageId: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'customer@example.com' })
  from: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'Invoice' })
  subject: string | null;

  @ApiProperty({ example: 20480 })
  size: number;

  @ApiProperty({ example: 'unparsable: ...' })
  reason: string | null;

  @ApiProperty({ example: 1 })
  attempts: number;

  @ApiProperty({ example: '2026-11-25T09:00:00.000Z' })
  receivedAt: string;
}

export class QuarantinePageDto extends PageDtoOf(QuarantinedMailDto) {}

export function toQuarantinedMail(m: InboundMail): QuarantinedMailDto {
  return {
    id: String(m.id),
    source: m.source,
    messageId: m.messageId,
    from: m.fromAddress,
    subject: m.subject,
    size: m.size,
    reason: m.reason,
    attempts: m.attempts,
    receivedAt: m.receivedAt.toISOString(),
  };
}
