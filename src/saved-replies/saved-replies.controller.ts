import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { OperatorApi } from '../common/api.decorators';
import { type AuthOperator, CurrentOperator } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import {
  CreateSavedReplyDto,
  ListSavedRepliesQuery,
  SavedReplyListDto,
  SavedReplyResponseDto,
  toSavedReplyResponse,
  UpdateSavedReplyDto,
} from './dto/saved-reply.dto';
import { SavedRepliesService } from './saved-replies.service';

/**
 * Saved replies: every operator lists those they see (global ones and their groups'); admins
 * manage every reply, operators those of their own groups.
 */
@OperatorApi('saved-replies')
@Controller('saved-replies')
export class SavedRepliesController {
  constructor(private readonly replies: SavedRepliesService) {}

  @Get()
  @ApiOperation({ summary: "List the saved replies you see (global ones and your groups'; admins all), by name" })
  @ApiOkResponse({ type: SavedReplyListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid groupId' })
  async list(
    @Query() query: ListSavedRepliesQuery,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<SavedReplyListDto> {
    return { items: (await this.replies.list(actor, query.groupId ?? null)).map(toSavedReplyResponse) };
  }

  @Post()
  @ApiOperation({ summary: 'Create a saved reply: global (admins) or of a group (admins, or operators of that group)' })
  @ApiCreatedResponse({ type: SavedReplyResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid field, unknown variable or group' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Global: admins only; a group: its operators' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'A reply of this scope has this name (in any case)' })
  async create(
    @Body() body: CreateSavedReplyDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<SavedReplyResponseDto> {
    return toSavedReplyResponse(await this.replies.create(actor, body));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change the name or text of a saved reply (admins; operators those of their groups)' })
  @ApiOkResponse({ type: SavedReplyResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid id, field or unknown variable' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'A global reply (admins only)' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such reply (or not one you see)' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'Another reply of this scope has this name (in any case)',
  })
  async update(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: UpdateSavedReplyDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<SavedReplyResponseDto> {
    return toSavedReplyResponse(await this.replies.update(actor, id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a saved reply (admins; operators those of their groups)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'A global reply (admins only)' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such reply (or not one you see)' })
  async remove(@Param('id', ParseIdPipe) id: number, @CurrentOperator() actor: AuthOperator): Promise<void> {
    await this.replies.remove(actor, id);
  }
}
