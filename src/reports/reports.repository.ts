import { Injectable } from '@nestjs/common';
import { ReadReplicas } from '../replicas/read-replicas.service';
import type { Priority } from '../requests/tags';

/** The requests of the groups $4 only (a report by group, or for an operator in groups). */
const IN_GROUPS = ' AND group_id = ANY ($4::integer[])';

/** The requests of priority $3 only, or of every priority when $3 is NULL. */
const OF_PRIORITY = ' AND ($3::text IS NULL OR priority = $3::text)';

/** The columns the reports count, of the live requests and of the erased customers' shells. */
const COUNTED_COLUMNS = `status, priority, operator_id, group_id, created_at, first_response_at, first_response_due_at,
                resolution_due_at, closed_at, satisfaction_rating`;

/**
 * What the reports count: the requests, and the shells an erasure leaves of an erased customer's
 * requests (erased_requests: the counted columns only, no customer, subject or text), so erasing a
 * customer changes no total (docs/privacy.md). PostgreSQL pushes the period's condition into both
 * branches of the UNION ALL: the covering indexes still serve the requests' side.
 */
const COUNTED = `(SELECT ${COUNTED_COLUMNS} FROM requests
                 UNION ALL SELECT ${COUNTED_COLUMNS} FROM erased_requests) requests`;

/** Totals and one row per assignee, in one scan. */
const PER_OPERATOR = `
          GROUP BY GROUPING SETS ((), (operator_id))`;

/** The requests created in [$1, $2): counts, first responses, targets missed (then a condition may follow). */
const CREATED = `SELECT grouping(operator_id) AS g, operator_id,
                count(*)::int AS created,
                count(*) FILTER (WHERE status = 'new')::int AS s_new,
                count(*) FILTER (WHERE status = 'in_progress')::int AS s_in_progress,
                count(*) FILTER (WHERE status = 'closed')::int AS s_closed,
                count(*) FILTER (WHERE priority = 'low')::int AS p_low,
                count(*) FILTER (WHERE priority = 'normal')::int AS p_normal,
                count(*) FILTER (WHERE priority = 'high')::int AS p_high,
                count(*) FILTER (WHERE priority = 'urgent')::int AS p_urgent,
                count(first_response_at)::int AS fr_count,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)) AS fr_median,
                avg(extract(epoch FROM first_response_at - created_at))::float8 AS fr_average,
                count(*) FILTER (WHERE first_response_due_at < coalesce(first_response_at, now())
                                    OR resolution_due_at < coalesce(closed_at, now()))::int AS overdue
           FROM ${COUNTED} WHERE created_at >= $1 AND created_at < $2`;

/** The requests closed in [$1, $2), whenever created: resolution times and ratings (then a condition may follow). */
const CLOSED = `SELECT grouping(operator_id) AS g, operator_id,
                count(*)::int AS closed,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at)) AS res_median,
                avg(extract(epoch FROM closed_at - created_at))::float8 AS res_average,
                count(satisfaction_rating)::int AS rated,
                avg(satisfaction_rating)::float8 AS rating_average
           FROM ${COUNTED} WHERE closed_at >= $1 AND closed_at < $2`;

/**
 * The statements of the reports (written to reports.repository.sql by `npm run sql`): read-only, over
 * the requests and operators tables. One pass per cohort; GROUPING SETS give the totals
 * (grouping(operator_id) = 1) and the per-operator rows in the same scan, an index-only scan of the
 * covering index (requests_created, requests_closed_at: they include priority too). Medians are
 * percentile_cont(0.5). $3 is a priority to count only (NULL: all). The `InGroups` twins count only
 * the requests of the groups $4: a report by group, or an operator in groups (admins' and
 * ungrouped operators' whole-desk reports run the statements without it).
 */
export const SQL = {
  /** The requests created in [$1, $2): counts, first responses, targets missed. */
  createdCohort: `${CREATED}${OF_PRIORITY}${PER_OPERATOR}`,
  createdCohortInGroups: `${CREATED}${OF_PRIORITY}${IN_GROUPS}${PER_OPERATOR}`,
  /** The requests closed in [$1, $2), whenever created: resolution times and ratings. */
  closedCohort: `${CLOSED}${OF_PRIORITY}${PER_OPERATOR}`,
  closedCohortInGroups: `${CLOSED}${OF_PRIORITY}${IN_GROUPS}${PER_OPERATOR}`,
  operatorNames: `SELECT id, name FROM operators WHERE id = ANY($1::int[]) ORDER BY id`,
} as const;

/** One row of the created cohort: the desk-wide totals (`total`), or one assignee's (operatorId null: unassigned). */
export interface CreatedCohortRow {
  total: boolean;
  operatorId: number | null;
  created: number;
  /** The cohort by status now. */
  byStatus: { new: number; in_progress: number; closed: number };
  /** The cohort by priority now. */
  byPriority: Record<Priority, number>;
  /** Requests answered, and the median and mean seconds to the first answer (null with none). */
  firstResponses: number;
  firstResponseMedian: number | null;
  firstResponseAverage: number | null;
  /** Requests that missed a target (met late, or still open past it). */
  overdue: number;
}

/** One row of the closed cohort: the desk-wide totals (`total`), or one assignee's. */
export interface ClosedCohortRow {
  total: boolean;
  operatorId: number | null;
  closed: number;
  /** Median and mean seconds from creation to closing (null with none). */
  resolutionMedian: number | null;
  resolutionAverage: number | null;
  /** Ratings given, and their mean (null with none). */
  rated: number;
  ratingAverage: number | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function createdFromRow(r: Record<string, unknown>): CreatedCohortRow {
  return {
    total: Number(r.g) === 1,
    operatorId: num(r.operator_id),
    created: r.created as number,
    byStatus: { new: r.s_new as number, in_progress: r.s_in_progress as number, closed: r.s_closed as number },
    byPriority: {
      low: r.p_low as number,
      normal: r.p_normal as number,
      high: r.p_high as number,
      urgent: r.p_urgent as number,
    },
    firstResponses: r.fr_count as number,
    firstResponseMedian: num(r.fr_median),
    firstResponseAverage: num(r.fr_average),
    overdue: r.overdue as number,
  };
}

function closedFromRow(r: Record<string, unknown>): ClosedCohortRow {
  return {
    total: Number(r.g) === 1,
    operatorId: num(r.operator_id),
    closed: r.closed as number,
    resolutionMedian: num(r.res_median),
    resolutionAverage: num(r.res_average),
    rated: r.rated as number,
    ratingAverage: num(r.rating_average),
  };
}

/** What the report rules need of storage (ReportsService; an in-memory fake in unit tests). */
export interface ReportsStore {
  /**
   * The requests created in [from, to) (of the groups `groups` only, when given; of `priority`
   * only, when given): the totals row (always there) and one row per assignee.
   */
  createdCohort(from: Date, to: Date, groups?: readonly number[], priority?: Priority): Promise<CreatedCohortRow[]>;
  /** The requests closed in [from, to) (of the groups `groups`, of `priority` only, when given): the totals row and one row per assignee. */
  closedCohort(from: Date, to: Date, groups?: readonly number[], priority?: Priority): Promise<ClosedCohortRow[]>;
  /** Id and name of the operators with these ids, by id. */
  operatorNames(ids: number[]): Promise<Array<{ id: number; name: string }>>;
}

/** The reports' reads of the requests and operators tables. */
@Injectable()
export class ReportsRepository implements ReportsStore {
  /** Every read on a read replica when the call may use one (GET /reports/summary: docs/replicas.md). */
  constructor(private readonly replicas: ReadReplicas) {}

  async createdCohort(
    from: Date,
    to: Date,
    groups?: readonly number[],
    priority?: Priority,
  ): Promise<CreatedCohortRow[]> {
    const p = priority ?? null;
    const rows = groups
      ? await this.query(SQL.createdCohortInGroups, [from, to, p, [...groups]])
      : await this.query(SQL.createdCohort, [from, to, p]);
    return rows.map(createdFromRow);
  }

  async closedCohort(
    from: Date,
    to: Date,
    groups?: readonly number[],
    priority?: Priority,
  ): Promise<ClosedCohortRow[]> {
    const p = priority ?? null;
    const rows = groups
      ? await this.query(SQL.closedCohortInGroups, [from, to, p, [...groups]])
      : await this.query(SQL.closedCohort, [from, to, p]);
    return rows.map(closedFromRow);
  }

  operatorNames(ids: number[]): Promise<Array<{ id: number; name: string }>> {
    return this.query(SQL.operatorNames, [ids]);
  }

  private query<T = Record<string, unknown>>(sql: string, params: unknown[]): Promise<T[]> {
    return this.replicas.read((ds) => ds.query<T[]>(sql, params));
  }
}
