import { ApiProperty } from '@nestjs/swagger';

/** The range a report covers: [from, to). */
export class ReportPeriodDto {
  @ApiProperty({ example: '2026-10-31T23:00:00.000Z', format: 'date-time' })
  from: string;

  @ApiProperty({ example: '2026-11-30T23:00:00.000Z', format: 'date-time', description: 'Exclusive.' })
  to: string;

  @ApiProperty({ example: 'Europe/Berlin' })
  timeZone: string;
}

/** Current status of the requests created in the period. */
export class ReportStatusCountsDto {
  @ApiProperty({ example: 3 })
  new: number;

  @ApiProperty({ example: 5 })
  in_progress: number;

  @ApiProperty({ example: 12 })
  closed: number;
}

/** Priority now of the requests created in the period. */
export class ReportPriorityCountsDto {
  @ApiProperty({ example: 2 })
  low: number;

  @ApiProperty({ example: 14 })
  normal: number;

  @ApiProperty({ example: 3 })
  high: number;

  @ApiProperty({ example: 1 })
  urgent: number;
}

/** Request counts. */
export class ReportRequestsDto {
  @ApiProperty({ example: 20, description: 'Created in the period.' })
  created: number;

  @ApiProperty({ example: 14, description: 'Closed in the period (whenever created).' })
  closed: number;

  @ApiProperty({ type: ReportStatusCountsDto, description: 'The requests created in the period, by their status now.' })
  byStatus: ReportStatusCountsDto;

  @ApiProperty({
    type: ReportPriorityCountsDto,
    description: 'The requests created in the period, by their priority now.',
  })
  byPriority: ReportPriorityCountsDto;
}

/** Durations in seconds. */
export class ReportDurationDto {
  @ApiProperty({ example: 14, description: 'Requests measured.' })
  count: number;

  @ApiProperty({
    example: 5400,
    nullable: true,
    type: Number,
    description: 'Median (percentile_cont 0.5), seconds; null with no data.',
  })
  medianSeconds: number | null;

  @ApiProperty({ example: 7260.5, nullable: true, type: Number, description: 'Mean, seconds; null with no data.' })
  averageSeconds: number | null;
}

/** Requests of the period that missed an SLA target. */
export class ReportOverdueDto {
  @ApiProperty({ example: 2 })
  count: number;

  @ApiProperty({ example: 0.1, description: 'count / created (0 when nothing was created), 4 decimals.' })
  share: number;
}

/** Customer ratings. */
export class ReportSatisfactionDto {
  @ApiProperty({ example: 9, description: 'Ratings of the requests closed in the period.' })
  count: number;

  @ApiProperty({ example: 4.33, nullable: true, type: Number, description: 'Mean rating 1-5; null with none.' })
  average: number | null;
}

/** One operator's share of the period. */
export class ReportOperatorDto {
  @ApiProperty({ example: 2 })
  operatorId: number;

  @ApiProperty({ example: 'Ada Lovelace' })
  name: string;

  @ApiProperty({ example: 8, description: 'Requests created in the period and assigned to this operator.' })
  assigned: number;

  @ApiProperty({ example: 6, description: 'Requests this operator holds that were closed in the period.' })
  closed: number;

  @ApiProperty({ example: 5400, nullable: true, type: Number, description: 'Median resolution of those, seconds.' })
  medianResolutionSeconds: number | null;
}

/** `GET /reports/summary`. */
export class ReportSummaryDto {
  @ApiProperty({ type: ReportPeriodDto })
  period: ReportPeriodDto;

  @ApiProperty({ type: ReportRequestsDto })
  requests: ReportRequestsDto;

  @ApiProperty({
    type: ReportDurationDto,
    description: 'Creation to first operator message, requests created in the period.',
  })
  firstResponse: ReportDurationDto;

  @ApiProperty({ type: ReportDurationDto, description: 'Creation to closing, requests closed in the period.' })
  resolution: ReportDurationDto;

  @ApiProperty({ type: ReportOverdueDto })
  overdue: ReportOverdueDto;

  @ApiProperty({ type: ReportSatisfactionDto })
  satisfaction: ReportSatisfactionDto;

  @ApiProperty({ type: [ReportOperatorDto] })
  operators: ReportOperatorDto[];
}
