import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { PRIORITIES, type Priority } from '../../requests/tags';

/** The named periods of `GET /reports/summary`: the current day, ISO week (from Monday) or month. */
export const REPORT_PERIODS = ['today', 'week', 'month'] as const;
export type ReportPeriod = (typeof REPORT_PERIODS)[number];

/** Query of `GET /reports/summary`: a named period or a from/to range, in a time zone. */
export class ReportQueryDto {
  @ApiPropertyOptional({
    enum: REPORT_PERIODS,
    example: 'week',
    description: 'The current day, week (Monday to Sunday) or month in `tz`; default today. Not together with from/to.',
  })
  @IsOptional()
  @IsIn(REPORT_PERIODS, { message: `period must be one of ${REPORT_PERIODS.join(', ')}` })
  period?: ReportPeriod;

  @ApiPropertyOptional({
    example: '2026-11-01',
    description: 'Start (inclusive): a date (midnight in `tz`) or a date-time with zone.',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date or date-time' })
  from?: string;

  @ApiPropertyOptional({
    example: '2026-11-30',
    description: 'End: a date (that whole day in `tz` included) or a date-time with zone (exclusive); default now.',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date or date-time' })
  to?: string;

  @ApiPropertyOptional({
    example: 'Europe/Berlin',
    description: 'IANA time zone of the period boundaries; default BUSINESS_TIMEZONE.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  tz?: string;

  @ApiPropertyOptional({
    example: 2,
    type: 'integer',
    description:
      "Only the requests of this group (GET /groups). An operator in groups counts only their groups' requests anyway.",
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  groupId?: number;

  @ApiPropertyOptional({
    enum: PRIORITIES,
    example: 'urgent',
    description: 'Count only the requests of this priority (their priority now).',
  })
  @IsOptional()
  @IsIn(PRIORITIES, { message: `priority must be one of ${PRIORITIES.join(', ')}` })
  priority?: Priority;
}
