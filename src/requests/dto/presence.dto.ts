import { ApiProperty } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { type Presence, PRESENCE_STATES, type PresenceState } from '../presence.repository';

/** Body of `PUT /requests/:id/presence`. */
export class AnnouncePresenceDto {
  @ApiProperty({
    enum: PRESENCE_STATES,
    example: 'replying',
    description: '`viewing`: the request is open on your screen; `replying`: you are writing an answer.',
  })
  @IsIn(PRESENCE_STATES)
  state: PresenceState;
}

/** One operator on a request right now (collision detection). */
export class PresenceDto {
  @ApiProperty({ example: 2 })
  operatorId: number;

  @ApiProperty({ example: 'Grace Hopper' })
  operatorName: string;

  @ApiProperty({ enum: PRESENCE_STATES, example: 'viewing' })
  state: PresenceState;

  @ApiProperty({
    example: '2025-11-25T10:02:11.000Z',
    format: 'date-time',
    description: 'When the operator entered this state (kept while they renew it).',
  })
  since: string;

  @ApiProperty({
    example: '2025-11-25T10:02:41.000Z',
    format: 'date-time',
    description: 'When it ends unless renewed (PRESENCE_TTL_SECONDS after the last PUT).',
  })
  expiresAt: string;
}

/** The API shape of a presence row. */
export function toPresenceResponse(p: Presence): PresenceDto {
  return {
    operatorId: p.operatorId,
    operatorName: p.operatorName,
    state: p.state,
    since: p.since.toISOString(),
    expiresAt: p.expiresAt.toISOString(),
  };
}
