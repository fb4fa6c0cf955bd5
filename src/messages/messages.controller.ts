import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Res,
  UploadedFiles,
  UseInterceptors,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { OperatorApi } from '../common/api.decorators';
import { BlobsService } from '../blobs/blobs.service';
import { AnyFilesInterceptor } from '@nestjs/platform-fastify/multipart';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
} from '@nestjs/swagger';
import { type AuthOperator, CurrentOperator, Roles } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { AssignRequestDto } from '../requests/dto/assign.dto';
import { RequestResponseDto, toRequestResponse } from '../requests/dto/request.dto';
import { RequestLifecycleService } from '../requests/request-lifecycle.service';
import { RequestsService } from '../requests/requests.service';
import { ConversationService } from './conversation.service';
import {
  MessageListDto,
  MessagePageQuery,
  MessageQuery,
  MessageResponseDto,
  PostMessageConflictDto,
  PostMessageDto,
  PostMessageFormDto,
  toMessageResponse,
} from './dto/message.dto';
import { Audited } from '../common/audit.decorators';
import { MessagesService } from './messages.service';
import { toNewAttachments, type UploadedFile } from './uploaded-files';

/**
 * Working a request's conversation: take it, close it, read and write its messages. (Lives in the
 * messages module because these actions send mail to the customer; taking, handing over and
 * closing are RequestLifecycleService's rules, in the requests module.)
 */
@OperatorApi('requests')
@ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer, or an invalid body' })
@ApiNotFoundResponse({ type: ErrorResponseDto, description: "No such request (or not in the operator's groups)" })
@Controller('requests')
export class MessagesController {
  constructor(
    private readonly lifecycle: RequestLifecycleService,
    private readonly conversation: ConversationService,
    private readonly messages: MessagesService,
    private readonly requests: RequestsService,
    private readonly blobs: BlobsService,
  ) {}

  @Post(':id/assign')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Take a request (new -> in_progress): to yourself, or (admins) to operatorId; mails the customer. ' +
      'An admin naming operatorId for a request in progress reassigns it',
  })
  @ApiOkResponse({ type: RequestResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'A non-admin assigning someone else' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'The request is not new (someone took it, or it is closed; admins may reassign a request in progress by naming operatorId), ' +
      'or the assignee already holds OPERATOR_MAX_OPEN requests in progress',
  })
  async assign(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: AssignRequestDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<RequestResponseDto> {
    return toRequestResponse(await this.lifecycle.assign(id, actor, body.operatorId));
  }

  @Post(':id/unassign')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Put a request in progress back in the queue (in_progress -> new, no assignee); admins' })
  @ApiOkResponse({ type: RequestResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Admins only' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The request is not in progress' })
  async unassign(
    @Param('id', ParseIdPipe) id: number,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<RequestResponseDto> {
    return toRequestResponse(await this.lifecycle.unassign(id, actor));
  }

  @Post(':id/close')
  @HttpCode(200)
  @ApiOperation({ summary: 'Close a request (in_progress -> closed); mails the customer' })
  @ApiOkResponse({ type: RequestResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The request is not in progress' })
  async close(
    @Param('id', ParseIdPipe) id: number,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<RequestResponseDto> {
    return toRequestResponse(await this.lifecycle.close(id, actor));
  }

  @Get(':id/messages')
  @ApiOperation({
    summary:
      'The conversation of a request, in order, a page at a time (after, limit; nextAfter and a Link header lead on); ' +
      'long bodies cut (truncated)',
  })
  @ApiOkResponse({ type: MessageListDto })
  async list(
    @Param('id', ParseIdPipe) id: number,
    @Query() query: MessagePageQuery,
    @CurrentOperator() actor: AuthOperator,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MessageListDto> {
    if (!(await this.requests.findVisible(id, actor))) throw new NotFoundException(`request ${id} does not exist`);
    const page = await this.messages.listPage(id, query.after, query.limit);
    const items = page.views.map((v) => toMessageResponse(v, { remoteImages: query.remoteImages }));
    const nextAfter = page.more ? items[items.length - 1].seq : null;
    if (nextAfter !== null)
      void reply.header(
        'Link',
        `</requests/${id}/messages?after=${nextAfter}&limit=${query.limit}${query.remoteImages ? '&remoteImages=true' : ''}>; rel="next"`,
      );
    return { items, nextAfter };
  }

  @Get(':id/messages/:messageId')
  @ApiOperation({
    summary:
      'One message of a request, with its whole text and (sanitized) html; remoteImages=true shows remote images',
  })
  @ApiOkResponse({ type: MessageResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such request, or no such message in it' })
  async one(
    @Param('id', ParseIdPipe) id: number,
    @Param('messageId', ParseIdPipe) messageId: number,
    @Query() query: MessageQuery,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<MessageResponseDto> {
    if (!(await this.requests.findVisible(id, actor))) throw new NotFoundException(`request ${id} does not exist`);
    const view = await this.messages.viewInRequest(id, messageId);
    if (!view) throw new NotFoundException(`request ${id} has no message ${messageId}`);
    return toMessageResponse(view, { remoteImages: query.remoteImages });
  }

  @Post(':id/messages')
  // The audit keeps who wrote to whom and the message's id, not the text (the conversation has it).
  @Audited({ action: 'request.reply', lengthOnly: ['text', 'html'], resultIdAs: 'messageId' })
  @UseInterceptors(AnyFilesInterceptor())
  @ApiOperation({
    summary:
      'Write to the customer: stored and emailed in their thread (JSON, or multipart/form-data with files as attachments)',
  })
  @ApiConsumes('application/json', 'multipart/form-data')
  @ApiBody({ type: PostMessageFormDto })
  @ApiCreatedResponse({ type: MessageResponseDto })
  @ApiConflictResponse({
    type: PostMessageConflictDto,
    description:
      'The request is closed; or (lastSeenMessageId) someone wrote since that message: nothing was sent, ' +
      'newMessages lists what arrived',
  })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto, description: 'A file over ATTACHMENT_MAX_BYTES' })
  async post(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: PostMessageDto,
    @CurrentOperator() actor: AuthOperator,
    @UploadedFiles() files?: UploadedFile[],
  ): Promise<MessageResponseDto> {
    const attachments = toNewAttachments(files);
    // The files in the blob store, durably, before the transaction that names them (docs/storage.md).
    await this.blobs.put(attachments.map((a) => ({ bytes: a.content, sha256: a.sha256 })));
    const message = {
      text: body.text,
      html: body.html,
      savedReplyId: body.savedReplyId,
      attachments,
      cc: body.cc,
      bcc: body.bcc,
      lastSeenMessageId: body.lastSeenMessageId,
    };
    return toMessageResponse(await this.conversation.postOperatorMessage(id, actor, message));
  }
}
