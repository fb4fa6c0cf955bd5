import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { AdminApi } from '../../common/api.decorators';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ErrorResponseDto } from '../../common/error.dto';
import { ParseIdPipe } from '../../common/parse-id.pipe';
import { PageQuery } from '../../common/pagination';
import { InboundMailService } from '../inbound-mail.service';
import { IngestResultDto, QuarantinePageDto, toQuarantinedMail } from './inbound.dto';

/** Admins look at mail that could not be processed and replay it after a fix. */
@AdminApi('inbound')
@Controller('inbound/quarantine')
export class QuarantineController {
  constructor(private readonly inbound: InboundMailService) {}

  @Get()
  @ApiOperation({ summary: 'List quarantined mail, newest first' })
  @ApiOkResponse({ type: QuarantinePageDto })
  async list(@Query() q: PageQuery): Promise<QuarantinePageDto> {
    const { items, total } = await this.inbound.listQuarantined(q.page, q.limit);
    return { items: items.map(toQuarantinedMail), total, page: q.page, limit: q.limit };
  }

  @Post(':id/replay')
  @HttpCode(200)
  @ApiOperation({ summary: 'Run a quarantined mail through the inbound pipeline again' })
  @ApiOkResponse({ type: IngestResultDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'no such inbound mail' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'the mail is not quarantined' })
  replay(@Param('id', ParseIdPipe) id: number): Promise<IngestResultDto> {
    return this.inbound.replay(String(id));
  }
}
