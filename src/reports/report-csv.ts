import { csvField as field } from '../common/csv';
import type { ReportSummaryDto } from './dto/report-summary.dto';

/**
 * The summary as CSV in long form, one metric a row: `metric,operator_id,operator_name,value`
 * (operator columns empty for the desk-wide rows), easy to pivot in a spreadsheet.
 */
export function summaryCsv(r: ReportSummaryDto): string {
  const rows: Array<[string, number | null, string | null, string | number | null]> = [
    ['period_from', null, null, r.period.from],
    ['period_to', null, null, r.period.to],
    ['time_zone', null, null, r.period.timeZone],
    ['created', null, null, r.requests.created],
    ['closed', null, null, r.requests.closed],
    ['created_now_new', null, null, r.requests.byStatus.new],
    ['created_now_in_progress', null, null, r.requests.byStatus.in_progress],
    ['created_now_closed', null, null, r.requests.byStatus.closed],
    ['created_priority_low', null, null, r.requests.byPriority.low],
    ['created_priority_normal', null, null, r.requests.byPriority.normal],
    ['created_priority_high', null, null, r.requests.byPriority.high],
    ['created_priority_urgent', null, null, r.requests.byPriority.urgent],
    ['first_response_count', null, null, r.firstResponse.count],
    ['first_response_median_seconds', null, null, r.firstResponse.medianSeconds],
    ['first_response_average_seconds', null, null, r.firstResponse.averageSeconds],
    ['resolution_count', null, null, r.resolution.count],
    ['resolution_median_seconds', null, null, r.resolution.medianSeconds],
    ['resolution_average_seconds', null, null, r.resolution.averageSeconds],
    ['overdue_count', null, null, r.overdue.count],
    ['overdue_share', null, null, r.overdue.share],
    ['satisfaction_count', null, null, r.satisfaction.count],
    ['satisfaction_average', null, null, r.satisfaction.average],
  ];
  for (const o of r.operators) {
    rows.push(['operator_assigned', o.operatorId, o.name, o.assigned]);
    rows.push(['operator_closed', o.operatorId, o.name, o.closed]);
    rows.push(['operator_median_resolution_seconds', o.operatorId, o.name, o.medianResolutionSeconds]);
  }
  return (
    ['metric,operator_id,operator_name,value', ...rows.map((row) => row.map(field).join(','))].join('\r\n') + '\r\n'
  );
}
