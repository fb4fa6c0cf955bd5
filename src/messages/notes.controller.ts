import { Body, Controller, Param, Post } from '@nestjs/common';
import { OperatorApi } from '../common/api.decorators';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOperation } from '@nestjs/swagger';
import { type AuthOperator, CurrentOperator } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { MessageResponseDto, PostNoteDto, toMessageResponse } from './dto/message.dto';
import { NotesService } from './notes.service';
import { Audited } from '../common/audit.decorators';

/** Internal notes on a request: seen by operators in the conversation, never emailed. */
@OperatorApi('requests')
@Controller('requests')
export class NotesController {
  constructor(private readonly notes: NotesService) {}

  @Post(':id/notes')
  @Audited({ action: 'request.note', lengthOnly: ['text'], resultIdAs: 'messageId' })
  @ApiOperation({ summary: 'Add an internal note (kind note in GET /requests/:id/messages; never emailed)' })
  @ApiCreatedResponse({ type: MessageResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer, or an invalid body' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such request' })
  async add(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: PostNoteDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<MessageResponseDto> {
    return toMessageResponse(await this.notes.add(id, actor, body.text));
  }
}
