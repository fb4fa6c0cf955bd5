import { Controller, Get, HttpCode, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags, ApiConflictResponse } from '@nestjs/swagger';
import { Roles } from '../../common/auth.decorators';
import { PageQuery } from '../../common/pagination';
import { InboundMailService } from '../inbound-mail.service';
import { IngestResultDto, QuarantinePageDto, toQuarantinedMail } from './inbound.dto';

/** Admins look at mail that could not be processed and replay it after a fix. */
@ApiTags('inbound')
@ApiBearerAuth('operator')
@ApiForbiddenResponse({ description: 'admins only' })
@Roles('admin')
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
  @ApiNotFoundResponse({ description: 'no such inbound mail' })
  @ApiConflictResponse({ description: 'the mail is not quarantined' })
  replay(@Param('id', ParseIntPipe) id: number): Promise<IngestResultDto> {
    return this.inbound.replay(String(id));
  }
}
