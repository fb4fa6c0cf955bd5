import { Body, Controller, Param, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOperation } from '@nestjs/swagger';
import { OperatorApi } from '../common/api.decorators';
import { type AuthOperator, CurrentOperator } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { ForwardDto, SideMessageDto } from './dto/forward.dto';
import { MessageResponseDto, toMessageResponse } from './dto/message.dto';
import { SideThreadsService } from './side-threads.service';
import { Audited } from '../common/audit.decorators';

/**
 * Side threads: forwarding a request's messages to a third party and writing to it again. The
 * third party's answers come back as `side` messages of the request, never mailed to the customer.
 */
@OperatorApi('requests')
@ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer, or an invalid body' })
@Controller('requests')
export class SideThreadsController {
  constructor(private readonly sides: SideThreadsService) {}

  @Post(':id/forward')
  @Audited({ action: 'request.forward', lengthOnly: ['text'], resultIdAs: 'messageId' })
  @ApiOperation({
    summary:
      'Forward messages of a request (default: the conversation with the customer) with their attachments to a ' +
      'third party, in a side thread of its own; its answers come back as side messages (any status, closed too)',
  })
  @ApiCreatedResponse({ type: MessageResponseDto, description: 'The side message (kind side, sideThreadId set).' })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description:
      'A recipient is not an address or is one of our own mailboxes, more than 10 recipients, a message not of this ' +
      'request, or the chosen messages carry too many attachment bytes',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: "No such request (or not in the operator's groups)" })
  async forward(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: ForwardDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<MessageResponseDto> {
    const { view } = await this.sides.forward(id, actor, {
      to: body.to,
      cc: body.cc,
      text: body.text,
      messageIds: body.messageIds,
    });
    return toMessageResponse(view);
  }

  @Post(':id/side-threads/:sideThreadId/messages')
  @Audited({ action: 'request.side_thread_message', lengthOnly: ['text'], resultIdAs: 'messageId' })
  @ApiOperation({
    summary: "Write again to a side thread's third party (under its latest message; never to the customer)",
  })
  @ApiCreatedResponse({ type: MessageResponseDto, description: 'The side message.' })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: "No such request (or not in the operator's groups), or no such side thread in it",
  })
  async followUp(
    @Param('id', ParseIdPipe) id: number,
    @Param('sideThreadId', ParseIdPipe) sideThreadId: number,
    @Body() body: SideMessageDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<MessageResponseDto> {
    return toMessageResponse(await this.sides.followUp(id, sideThreadId, actor, body.text));
  }
}
