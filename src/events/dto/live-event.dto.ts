import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { RequestEventDto } from '../../requests/dto/request-event.dto';
import { REQUEST_STATUSES } from '../../requests/request.entity';

/** Query of `GET /events/stream`. */
export class EventStreamQueryDto {
  @ApiPropertyOptional({
    example: '1042',
    description:
      'Resume after this event id, as the Last-Event-ID header does (the header wins): for clients that ' +
      'cannot set it on their first connection. Without either, the stream starts from now.',
  })
  @IsOptional()
  @Matches(/^\d{1,16}$/, { message: 'lastEventId must be the id of an event (a non-negative integer)' })
  lastEventId?: string;

  @ApiPropertyOptional({
    example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...',
    description:
      "The operator's bearer token (a login's), for EventSource, which cannot set the Authorization " +
      'header. Accepted on this route only; never logged. Personal access tokens go in the header only.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  access_token?: string;
}

/**
 * The `data:` of one live event (JSON on one line); its `id:` is `id`, its `event:` is `type`: a
 * request history entry (as GET /requests/:id/events) with its request and that request's state.
 */
export class LiveEventDto extends RequestEventDto {
  @ApiProperty({ example: 1042, description: 'The event id (request history id): resume after it with Last-Event-ID' })
  declare id: number;

  @ApiProperty({ example: 17 })
  requestId: number;

  @ApiProperty({ example: 3, nullable: true, type: Number, description: "The request's group when the event was sent" })
  groupId: number | null;

  @ApiProperty({
    enum: REQUEST_STATUSES,
    example: 'in_progress',
    description: "The request's status when the event was sent",
  })
  status: string;
}
