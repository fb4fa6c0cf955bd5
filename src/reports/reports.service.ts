import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ReportSummaryDto } from './dto/report-summary.dto';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * The summary report, computed in SQL over two cohorts: requests created in [from, to) (the covering
 * index requests_created) and requests closed in it (requests_closed_at), one scan each. Medians are
 * percentile_cont(0.5).
 */
@Injectable()
export class ReportsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Counts, durations, SLA misses, satisfaction and the per-operator breakdown of [from, to). */
  async summary(from: Date, to: Date, timeZone: string): Promise<ReportSummaryDto> {
    // One pass per cohort; GROUPING SETS give the totals (operator_id IS NULL AND g = 1) and the
    // per-operator rows in the same scan, an index-only scan of the covering index.
    const [createdRows, closedRows] = await Promise.all([
      this.dataSource.query<Array<Record<string, unknown>>>(
        `SELECT grouping(operator_id) AS g, operator_id,
                count(*)::int AS created,
                count(*) FILTER (WHERE status = 'new')::int AS s_new,
                count(*) FILTER (WHERE status = 'in_progress')::int AS s_in_progress,
                count(*) FILTER (WHERE status = 'closed')::int AS s_closed,
                count(first_response_at)::int AS fr_count,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)) AS fr_median,
                avg(extract(epoch FROM first_response_at - created_at))::float8 AS fr_average,
                count(*) FILTER (WHERE first_response_due_at < coalesce(first_response_at, now())
                                    OR resolution_due_at < coalesce(closed_at, now()))::int AS overdue
           FROM requests WHERE created_at >= $1 AND created_at < $2
          GROUP BY GROUPING SETS ((), (operator_id))`,
        [from, to],
      ),
      this.dataSource.query<Array<Record<string, unknown>>>(
        `SELECT grouping(operator_id) AS g, operator_id,
                count(*)::int AS closed,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at)) AS res_median,
                avg(extract(epoch FROM closed_at - created_at))::float8 AS res_average,
                count(satisfaction_rating)::int AS rated,
                avg(satisfaction_rating)::float8 AS rating_average
           FROM requests WHERE closed_at >= $1 AND closed_at < $2
          GROUP BY GROUPING SETS ((), (operator_id))`,
        [from, to],
      ),
    ]);
    const total = (rows: Array<Record<string, unknown>>) => rows.find((r) => Number(r.g) === 1)!;
    const byOperator = (rows: Array<Record<string, unknown>>) =>
      new Map(rows.filter((r) => Number(r.g) === 0 && r.operator_id !== null).map((r) => [Number(r.operator_id), r]));
    const created = total(createdRows);
    const closed = total(closedRows);
    const assignedBy = byOperator(createdRows);
    const closedBy = byOperator(closedRows);
    const ids = [...new Set([...assignedBy.keys(), ...closedBy.keys()])];
    const names: Array<{ id: number; name: string }> = ids.length
      ? await this.dataSource.query(`SELECT id, name FROM operators WHERE id = ANY($1::int[]) ORDER BY id`, [ids])
      : [];
    const operators = names.map((o) => ({
      id: o.id,
      name: o.name,
      assigned: (assignedBy.get(o.id)?.created as number | undefined) ?? 0,
      closed: (closedBy.get(o.id)?.closed as number | undefined) ?? 0,
      median: closedBy.get(o.id)?.res_median ?? null,
    }));
    const createdCount = created.created as number;
    const overdue = created.overdue as number;
    const rounded = (v: unknown, digits: number) =>
      v === null || v === undefined ? null : Math.round(Number(v) * 10 ** digits) / 10 ** digits;
    return {
      period: { from: from.toISOString(), to: to.toISOString(), timeZone },
      requests: {
        created: createdCount,
        closed: closed.closed as number,
        byStatus: {
          new: created.s_new as number,
          in_progress: created.s_in_progress as number,
          closed: created.s_closed as number,
        },
      },
      firstResponse: {
        count: created.fr_count as number,
        medianSeconds: rounded(created.fr_median, 3),
        averageSeconds: rounded(created.fr_average, 3),
      },
      resolution: {
        count: closed.closed as number,
        medianSeconds: rounded(closed.res_median, 3),
        averageSeconds: rounded(closed.res_average, 3),
      },
      overdue: { count: overdue, share: createdCount ? Math.round((overdue / createdCount) * 10_000) / 10_000 : 0 },
      satisfaction: { count: closed.rated as number, average: rounded(closed.rating_average, 2) },
      operators: operators.map((o) => ({
        operatorId: o.id,
        name: o.name,
        assigned: o.assigned,
        closed: o.closed,
        medianResolutionSeconds: rounded(num(o.median), 3),
      })),
    };
  }
}
