import { Inject, Injectable } from '@nestjs/common';
import { type RequestActor, requestScope } from '../requests/request-scope';
import type { Priority } from '../requests/tags';
import type { ReportSummaryDto } from './dto/report-summary.dto';
import { ReportsRepository, type ReportsStore } from './reports.repository';

/** `v` rounded to `digits` decimals; null stays null. */
const rounded = (v: number | null, digits: number): number | null =>
  v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * The groups a report counts: `groupId` when given (none of it outside the actor's scope), else
 * the actor's scope (request-scope.ts); undefined: every request.
 */
export function reportGroups(actor: RequestActor, groupId?: number): readonly number[] | undefined {
  const scope = requestScope(actor);
  if (groupId === undefined) return scope ?? undefined;
  return scope === null || scope.includes(groupId) ? [groupId] : [];
}

/**
 * The summary report over two cohorts (ReportsRepository): requests created in [from, to) and
 * requests closed in it. Durations in seconds to 3 decimals, the mean rating to 2, the overdue share
 * to 4; the per-operator rows are the operators with a request in either cohort.
 */
@Injectable()
export class ReportsService {
  constructor(@Inject(ReportsRepository) private readonly reports: ReportsStore) {}

  /**
   * Counts, durations, SLA misses, satisfaction and the per-operator breakdown of [from, to): of
   * the requests the actor sees (an operator in groups: their groups'), of group `groupId` only
   * when given (a group outside an operator's groups: an empty report, as for a group with no
   * requests); of priority `priority` only when given.
   */
  async summary(
    from: Date,
    to: Date,
    timeZone: string,
    actor: RequestActor,
    groupId?: number,
    priority?: Priority,
  ): Promise<ReportSummaryDto> {
    const groups = reportGroups(actor, groupId);
    const [createdRows, closedRows] = await Promise.all([
      this.reports.createdCohort(from, to, groups, priority),
      this.reports.closedCohort(from, to, groups, priority),
    ]);
    const created = createdRows.find((r) => r.total)!;
    const closed = closedRows.find((r) => r.total)!;
    const assignedBy = new Map(
      createdRows.filter((r) => !r.total && r.operatorId !== null).map((r) => [r.operatorId!, r]),
    );
    const closedBy = new Map(
      closedRows.filter((r) => !r.total && r.operatorId !== null).map((r) => [r.operatorId!, r]),
    );
    const ids = [...new Set([...assignedBy.keys(), ...closedBy.keys()])];
    const names = ids.length ? await this.reports.operatorNames(ids) : [];
    const overdue = created.overdue;
    return {
      period: { from: from.toISOString(), to: to.toISOString(), timeZone },
      requests: {
        created: created.created,
        closed: closed.closed,
        byStatus: created.byStatus,
        byPriority: created.byPriority,
      },
      firstResponse: {
        count: created.firstResponses,
        medianSeconds: rounded(created.firstResponseMedian, 3),
        averageSeconds: rounded(created.firstResponseAverage, 3),
      },
      resolution: {
        count: closed.closed,
        medianSeconds: rounded(closed.resolutionMedian, 3),
        averageSeconds: rounded(closed.resolutionAverage, 3),
      },
      overdue: {
        count: overdue,
        share: created.created ? Math.round((overdue / created.created) * 10_000) / 10_000 : 0,
      },
      satisfaction: { count: closed.rated, average: rounded(closed.ratingAverage, 2) },
      operators: names.map((o) => ({
        operatorId: o.id,
        name: o.name,
        assigned: assignedBy.get(o.id)?.created ?? 0,
        closed: closedBy.get(o.id)?.closed ?? 0,
        medianResolutionSeconds: rounded(closedBy.get(o.id)?.resolutionMedian ?? null, 3),
      })),
    };
  }
}
