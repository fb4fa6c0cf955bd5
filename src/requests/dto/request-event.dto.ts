import { ApiProperty } from '@nestjs/swagger';
import { RequestEvent } from '../request-event.entity';

/** One entry of a request's history. */
export class RequestEventDto {
  @ApiProperty({ example: 12 })
  id: number;

  @ApiProperty({
    example: 'assigned',
    description:
      'created, message, assigned, reassigned, unassigned, closed, reply_sent, auto_reply_sent, auto_reply_suppressed, bounce, sla_breached, sla_changed, rated, participants_added, participants_changed, ...',
  })
  type: string;

  @ApiProperty({ enum: ['customer', 'operator', 'system'], example: 'operator' })
  actor: string;

  @ApiProperty({ example: 2, nullable: true, type: Number })
  operatorId: number | null;

  @ApiProperty({ example: { operatorId: 2, operatorName: 'Ada Lovelace' }, type: 'object', additionalProperties: true })
  data: Record<string, unknown>;

  @ApiProperty({ example: '2025-11-25T10:02:11.000Z', format: 'date-time' })
  createdAt: string;
}

/** `GET /requests/:id/events`. */
export class RequestEventListDto {
  @ApiProperty({ type: [RequestEventDto] })
  items: RequestEventDto[];
}

/** Maps a history entry to its response. */
export function toRequestEventResponse(e: RequestEvent): RequestEventDto {
  return {
    id: Number(e.id),
    type: e.type,
    actor: e.actor,
    operatorId: e.operatorId,
    data: e.data,
    createdAt: new Date(e.createdAt).toISOString(),
  };
}
