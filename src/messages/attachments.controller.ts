import { Controller, Get, NotFoundException, Param, Res, StreamableFile } from '@nestjs/common';
import { OperatorApi } from '../common/api.decorators';
import {
  ApiBadRequestResponse,
  ApiGoneResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiServiceUnavailableResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { type AuthOperator, CurrentOperator } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { MessagesService } from './messages.service';

/** A stored content type if it is a plain `type/subtype` (parameters kept), else octet-stream. */
export function safeContentType(value: string | null | undefined): string {
  const v = (value ?? '').trim();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}(\s*;\s*[a-z0-9_.-]+=("[^"\r\n]*"|[^\s;"]+))*$/i.test(
    v,
  )
    ? v
    : 'application/octet-stream';
}

/** `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / 5987). */
export function attachmentDisposition(filename: string): string {
  const name = filename.replace(/[\r\n\\/]+/g, '_').trim() || 'attachment';
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["%;\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Attachment downloads. Always served as a download, sandboxed and never sniffed, so an HTML or SVG
 * attachment sent by a customer cannot run in the API's origin.
 */
@OperatorApi('messages')
@Controller('attachments')
export class AttachmentsController {
  constructor(private readonly messages: MessagesService) {}

  @Get(':id')
  @ApiOperation({ summary: 'Download an attachment (its stored bytes and content type, as a file download)' })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({
    description: 'The attachment, with Content-Disposition: attachment and Content-Security-Policy: sandbox',
    schema: { type: 'string', format: 'binary' },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer' })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The blob store is down (Retry-After)' })
  @ApiGoneResponse({
    type: ErrorResponseDto,
    description: "The file's bytes are missing from the blob store (deleted outside MailDesk; logged as an error)",
  })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: "No such attachment (or its request is not in the operator's groups)",
  })
  async download(
    @Param('id', ParseIdPipe) id: number,
    @CurrentOperator() actor: AuthOperator,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<StreamableFile> {
    // Streamed from the blob store with its length: never the whole file in memory.
    const opened = await this.messages.openAttachment(id, actor);
    if (!opened) throw new NotFoundException(`attachment ${id} does not exist`);
    const { attachment, stream, size } = opened;
    res.header('Content-Type', safeContentType(attachment.contentType));
    res.header('Content-Disposition', attachmentDisposition(attachment.filename));
    res.header('X-Content-Type-Options', 'nosniff');
    res.header('Content-Security-Policy', "sandbox; default-src 'none'");
    res.header('Cache-Control', 'private, no-store');
    return new StreamableFile(stream, { length: size });
  }
}
