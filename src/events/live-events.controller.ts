import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTooManyRequestsResponse,
  getSchemaPath,
  ApiExtraModels,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { OperatorApi } from '../common/api.decorators';
import { AllowQueryToken, type AuthOperator, CurrentOperator } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { EventStreamQueryDto, LiveEventDto } from './dto/live-event.dto';
import { LiveEventsService, parseLastEventId } from './live-events.service';

const EXAMPLE =
  'retry: 3000\n: connected\n\n' +
  'id: 1042\nevent: assigned\ndata: {"id":1042,"requestId":17,"type":"assigned","actor":"operator","operatorId":2,' +
  '"data":{"operatorId":2},"createdAt":"2025-11-25T10:02:11.000Z","groupId":3,"status":"in_progress"}\n\n' +
  ': heartbeat\n\n';

/** Live events: request and message changes as Server-Sent Events (docs/live-events.md). */
@OperatorApi('events')
@ApiExtraModels(LiveEventDto)
@Controller('events')
export class LiveEventsController {
  constructor(private readonly events: LiveEventsService) {}

  @Get('stream')
  @AllowQueryToken()
  @ApiOperation({
    summary: "Live events of the requests you may see (your groups'), as Server-Sent Events",
    description:
      'Every change of a request and every message, as the request history records it (GET /requests/:id/events), ' +
      'from every instance, in id order, each once. Each event: `id:` its id, `event:` its type, `data:` one line of ' +
      'JSON (LiveEventDto). Reconnect with `Last-Event-ID` (EventSource does it by itself) to get exactly the events ' +
      'missed meanwhile; without it the stream starts from now. A comment every EVENTS_HEARTBEAT_SECONDS keeps proxies ' +
      "from closing it. An operator in groups gets only those groups' requests (the groups as they were when the " +
      'stream opened); admins and operators in no group get all. A client that does not read is disconnected (it ' +
      'resumes). EventSource cannot set headers: pass a login token as `?access_token=` (never logged).',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'An endless text/event-stream; the `data:` of each event is a LiveEvent',
    content: {
      'text/event-stream': {
        schema: { type: 'string', example: EXAMPLE, description: `data: ${getSchemaPath(LiveEventDto)}` },
      },
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Last-Event-ID is not an event id' })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description: 'Too many streams open (EVENTS_MAX_STREAMS on this instance, EVENTS_MAX_STREAMS_PER_OPERATOR for you)',
  })
  async stream(
    @Query() query: EventStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentOperator() operator: AuthOperator,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const after = parseLastEventId(lastEventId?.trim() ? lastEventId : query.lastEventId);
    await this.events.open(
      {
        raw: reply.raw,
        headers: () => reply.getHeaders(),
        hijack: () => {
          reply.hijack();
        },
      },
      operator,
      after,
    );
  }
}
