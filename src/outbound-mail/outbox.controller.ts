import { Controller, Get, HttpCode, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { AdminApi } from '../common/api.decorators';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { OutboxListQuery, OutboxMailResponse, OutboxPageResponse, toOutboxMailResponse } from './dto/outbox.dto';
import { OutboxService } from './outbox.service';

/** Admin view of outgoing mail: what is queued, sent or failed, and retrying failed mail. */
@AdminApi('outbox')
@Controller('outbox')
export class OutboxController {
  constructor(private readonly outbox: OutboxService) {}

  @Get()
  @ApiOperation({ summary: 'List outgoing mail by status (failed by default), newest first' })
  @ApiOkResponse({ type: OutboxPageResponse })
  async list(@Query() query: OutboxListQuery): Promise<OutboxPageResponse> {
    const page = await this.outbox.list(query.status, query.page, query.limit);
    return { ...page, items: page.items.map(toOutboxMailResponse) };
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({ summary: 'Queue a failed mail again, due now (its attempt count is kept)' })
  @ApiOkResponse({ type: OutboxMailResponse })
  @ApiNotFoundResponse({ description: 'No outgoing mail with this id' })
  @ApiConflictResponse({ description: 'The mail is not failed (pending or already sent)' })
  async retry(@Param('id', ParseIntPipe) id: number): Promise<OutboxMailResponse> {
    return toOutboxMailResponse(await this.outbox.retry(id));
  }
}
