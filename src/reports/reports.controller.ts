import { BadRequestException, Controller, Get, Headers, Inject, Query, Res } from '@nestjs/common';
import { OperatorApi } from '../common/api.decorators';
import {
  ApiBadRequestResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { type AuthOperator, CurrentOperator } from '../common/auth.decorators';
import { wantsCsv } from '../common/csv';
import { ErrorResponseDto } from '../common/error.dto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ReportQueryDto } from './dto/report-query.dto';
import { ReportSummaryDto } from './dto/report-summary.dto';
import { summaryCsv } from './report-csv';
import { reportRange, ReportPeriodError } from './report-period';
import { ReportsService } from './reports.service';
import { ReadsFromReplica } from '../replicas/reads-from-replica.decorator';

const CSV_EXAMPLE =
  'metric,operator_id,operator_name,value\r\nperiod_from,,,2026-10-31T23:00:00.000Z\r\ncreated,,,20\r\noperator_closed,2,Ada Lovelace,6\r\n';

/** Reports for operators and admins: JSON, or CSV with `Accept: text/csv`. */
@OperatorApi('reports')
@Controller('reports')
export class ReportsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reports: ReportsService,
  ) {}

  @Get('summary')
  @ReadsFromReplica()
  @ApiOperation({
    summary:
      'Summary of a period: counts, first-response and resolution times, SLA misses, satisfaction, per operator (JSON or CSV); ' +
      "of one group with groupId, of one priority with priority; an operator in groups: only their groups' requests",
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({
    description: 'The summary; as CSV (one metric a row) with Accept: text/csv',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(ReportSummaryDto) } },
      'text/csv': { schema: { type: 'string', example: CSV_EXAMPLE } },
    },
  })
  @ApiExtraModels(ReportSummaryDto)
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Unknown period or time zone; invalid, zoneless or reversed from/to; period together with from/to',
  })
  async summary(
    @Query() query: ReportQueryDto,
    @CurrentOperator() actor: AuthOperator,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<ReportSummaryDto | string> {
    const timeZone = query.tz ?? this.config.sla.timeZone;
    let range: { from: Date; to: Date };
    try {
      range = reportRange(query, timeZone);
    } catch (e) {
      if (e instanceof ReportPeriodError) throw new BadRequestException(e.message);
      throw e;
    }
    const summary = await this.reports.summary(range.from, range.to, timeZone, actor, query.groupId, query.priority);
    if (wantsCsv(accept)) {
      res.header('Content-Type', 'text/csv; charset=utf-8');
      res.header(
        'Content-Disposition',
        `attachment; filename="maildesk-summary-${range.from.toISOString().slice(0, 10)}.csv"`,
      );
      return summaryCsv(summary);
    }
    return summary;
  }
}
