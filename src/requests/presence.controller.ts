import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { OperatorApi } from '../common/api.decorators';
import { type AuthOperator, CurrentOperator } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { AnnouncePresenceDto, PresenceDto, toPresenceResponse } from './dto/presence.dto';
import { PresenceService } from './presence.service';
import { NotAudited } from '../common/audit.decorators';

/**
 * Collision detection, the presence half: who is viewing or replying to a request right now
 * (PresenceService). The other half, refusing a message written over news, is `lastSeenMessageId`
 * of POST /requests/:id/messages.
 */
@OperatorApi('requests')
@ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer, or an invalid body' })
@ApiNotFoundResponse({ type: ErrorResponseDto, description: "No such request (or not in the operator's groups)" })
@Controller('requests')
export class PresenceController {
  constructor(private readonly presence: PresenceService) {}

  @Get(':id/presence')
  @ApiOperation({
    summary:
      'Who is viewing or replying to a request right now (every operator on it, you included; expired ones left out)',
  })
  @ApiOkResponse({ type: [PresenceDto] })
  async list(@Param('id', ParseIdPipe) id: number, @CurrentOperator() actor: AuthOperator): Promise<PresenceDto[]> {
    return (await this.presence.list(id, actor)).map(toPresenceResponse);
  }

  @Put(':id/presence')
  @NotAudited('a heartbeat renewed every few seconds by every open request screen: it changes nothing of the request')
  @ApiOperation({
    summary:
      'Announce that you are viewing or replying to a request, for PRESENCE_TTL_SECONDS (default 30): repeat it ' +
      'before then to stay shown. Answers who is on the request now',
  })
  @ApiOkResponse({ type: [PresenceDto] })
  async announce(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: AnnouncePresenceDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<PresenceDto[]> {
    return (await this.presence.announce(id, actor, body.state)).map(toPresenceResponse);
  }

  @Delete(':id/presence')
  @NotAudited('leaving a request screen: the end of a heartbeat, no change of the request')
  @HttpCode(204)
  @ApiOperation({ summary: 'Leave a request: you are no longer shown on it (also when you were not)' })
  @ApiNoContentResponse({ description: 'Left' })
  async leave(@Param('id', ParseIdPipe) id: number, @CurrentOperator() actor: AuthOperator): Promise<void> {
    await this.presence.leave(id, actor);
  }
}
