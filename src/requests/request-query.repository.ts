import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { preparedQuery } from '../database/prepared';
import { ReadReplicas } from '../replicas/read-replicas.service';
import { fillSql } from '../database/sql-template';
import { ISO_TIMESTAMPS, type IsoString } from '../database/timestamps';
import type { RequestSortKey } from './dto/list-requests.query';
import type { RequestView } from './dto/request.dto';
import type { RequestStatus } from './request.entity';
import { SQL as REQUESTS_SQL, type RequestRow, requestFromRow } from './requests.repository';

/** Open and past a target: the same rule as isOverdue() (request.dto.ts). */
const OVERDUE = `(r.status <> 'closed' AND ((r.first_response_at IS NULL AND r.first_response_due_at < now()) OR r.resolution_due_at < now()))`;

/**
 * The fragments of the request list (`GET /requests`), one statement built at run time
 * (written to request-query.repository.sql by `npm run sql`). `{name}` is a slot that `list`
 * fills (fillSql) with another fragment, a `$n` placeholder or a validated integer literal.
 */
export const SQL = {
  /** The statement: the CTEs `total` (the count) and `ids` (the page's ids), then the page's rows joined. */
  list: `
      WITH {ctes}
      SELECT total.n AS total, ${REQUESTS_SQL.requestColumns}
      FROM total
      LEFT JOIN (ids JOIN requests r ON r.id = ids.id
        JOIN customers c ON c.id = r.customer_id
        LEFT JOIN operators o ON o.id = r.operator_id
        ${REQUESTS_SQL.mailboxJoin}) ON true
      ORDER BY {order}`,
  /** A search ranked by relevance, every match (REQUESTS_SEARCH_RANK_LIMIT=0): read once, counted exactly, and ranked. */
  rankedCtes: `m AS MATERIALIZED (SELECT r.id, r.subject FROM requests r {where}),
      total AS (SELECT count(*)::int AS n FROM m),
      ids AS (SELECT r.id FROM m r ORDER BY {order} LIMIT {limit} OFFSET {offset})`,
  /**
   * A search ranked by relevance over its newest matches: the newest {upTo} matches (`k` 1 for the
   * newest; an index range walked backward, stopping there, for a common word; the GIN index and a
   * sort of its few hits for a rare one), the first {rankLimit} of them ranked, the rest after them
   * newest first; each id with its place `o` in that order. `total` counts them: {upTo} is at
   * least REQUESTS_COUNT_LIMIT + 1 (countUpTo's bound), or the count is {total} (countAll).
   */
  boundedRankedCtes: `m AS MATERIALIZED (SELECT r.id, r.subject, row_number() OVER (ORDER BY r.created_at DESC, r.id DESC) AS k
        FROM requests r {where} ORDER BY r.created_at DESC, r.id DESC LIMIT {upTo}),
      total AS ({total}),
      ids AS (SELECT r.id, row_number() OVER (ORDER BY r.k > {rankLimit}, {rank} DESC NULLS LAST, r.k) AS o
        FROM m r ORDER BY o LIMIT {limit} OFFSET {offset})`,
  countCandidates: `SELECT count(*)::int AS n FROM m`,
  /** The relevance of a candidate among the ranked ones (NULL for the others). */
  rankWithin: `CASE WHEN r.k <= {rankLimit} THEN ts_rank(to_tsvector('simple', r.subject), websearch_to_tsquery('simple', {q})) END`,
  orderByPlace: `ids.o`,
  /** Several statuses sorted by a column: the first offset + limit of each status (`branch`), merged. */
  mergedCtes: `total AS ({count}),
      ids AS (SELECT r.id FROM ({branches}) r ORDER BY {order} LIMIT {limit} OFFSET {offset})`,
  branch: `(SELECT r.id, {column} FROM requests r {where} ORDER BY {order} LIMIT {upTo})`,
  unionAll: ' UNION ALL ',
  /** Any other list. */
  ctes: `total AS ({count}),
      ids AS (SELECT r.id FROM requests r {where} ORDER BY {order} LIMIT {limit} OFFSET {offset})`,
  /** The count, stopping after {upTo} matches (REQUESTS_COUNT_LIMIT + 1). */
  countUpTo: `SELECT count(*)::int AS n FROM (SELECT 1 FROM requests r {where} LIMIT {upTo}) m`,
  /** The count of every match (REQUESTS_COUNT_LIMIT=0). */
  countAll: `SELECT count(*)::int AS n FROM requests r {where}`,
  where: `WHERE {conditions}`,
  and: ' AND ',
  status: `r.status = {status}`,
  statuses: `r.status IN ({statuses})`,
  operator: `r.operator_id = {operatorId}`,
  /** A mailbox: its requests, and for the default mailbox those stored with mailbox_id NULL. */
  mailbox: `(r.mailbox_id = {mailboxId} OR (r.mailbox_id IS NULL AND {mailboxId} = (SELECT d.id FROM mailboxes d WHERE d.is_default)))`,
  group: `r.group_id = {groupId}`,
  /**
   * The scope of an operator in groups: only their groups' requests (requests_group_idx). Admins'
   * and ungrouped operators' lists have no such condition.
   */
  groupScope: `r.group_id = ANY ({groupIds}::integer[])`,
  customer: `r.customer_id = (SELECT cu.id FROM customers cu WHERE cu.email = {email})`,
  createdFrom: `r.created_at >= {from}`,
  createdUpTo: `r.created_at <= {to}`,
  createdBefore: `r.created_at < {to}`,
  /** The partial indexes requests_first_response_due and requests_resolution_due serve it. */
  overdue: OVERDUE,
  notOverdue: `NOT coalesce(${OVERDUE}, false)`,
  /** One or several priorities (requests_status_priority with a status). */
  priorities: `r.priority = ANY ({priorities}::text[])`,
  /** Every tag given (requests_tags, GIN). */
  tags: `r.tags @> {tags}::text[]`,
  search: `r.search_vector @@ websearch_to_tsquery('simple', {q})`,
  /**
   * Relevance: how well the subject matches (a hit only in a message ranks 0), then the newest.
   * (Ranking message texts too meant re-parsing every matching message: 300 ms for a common word
   * over 100,000 requests.)
   */
  orderByRelevance: `ts_rank(to_tsvector('simple', r.subject), websearch_to_tsquery('simple', {q})) DESC, r.id DESC`,
  orderById: `r.id {direction}`,
  orderBy: `{column} {direction}, r.id {direction}`,
  orderByNullsLast: `{column} {direction} NULLS LAST, r.id {direction}`,
  ascending: 'ASC',
  descending: 'DESC',
  createdAtColumn: 'r.created_at',
  updatedAtColumn: 'r.updated_at',
  statusColumn: 'r.status',
  lastMessageAtColumn: 'r.last_message_at',
  /** Generated from priority: urgent 1 ... low 4, so ascending is urgent first. */
  priorityColumn: 'r.priority_rank',
} as const;

/** The column each sort key but id orders by. */
const SORT_COLUMNS: Record<Exclude<RequestSortKey, 'id'>, string> = {
  createdAt: SQL.createdAtColumn,
  updatedAt: SQL.updatedAtColumn,
  status: SQL.statusColumn,
  lastMessageAt: SQL.lastMessageAtColumn,
  priority: SQL.priorityColumn,
};

/** A whole number as an SQL literal (LIMIT and OFFSET: see preparedQuery). */
function literal(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a row count: ${n}`);
  return String(n);
}

/** What one page of the request list is: filters (each optional), order and window, all validated. */
export interface RequestListCriteria {
  /** Distinct statuses; none: any status. */
  statuses: RequestStatus[];
  operatorId?: number;
  /** A mailbox's requests (the default mailbox's include those stored without one). */
  mailboxId?: number;
  groupId?: number;
  /** Only the requests of these groups (an operator in groups); undefined: every request (RequestScope). */
  groupScope?: readonly number[];
  /** The customer's address, lower-case. */
  customerEmail?: string;
  createdFrom?: Date;
  /** The end of the created range, itself included or not. */
  createdTo?: { at: Date; inclusive: boolean };
  overdue?: boolean;
  /** Full-text search (web-search syntax). */
  q?: string;
  /** Any of these priorities. */
  priorities?: string[];
  /** All of these tags (normalized). */
  tags?: string[];
  /** A sort key and direction, or relevance to `q`. */
  order: { key: RequestSortKey; descending: boolean } | 'relevance';
  offset: number;
  limit: number;
  /** How many matches the count reads at most (it reads one more, to tell); 0: all. */
  countLimit: number;
  /** Relevance order: how many of the newest matches are ranked (the rest follow, newest first); 0: all, counted exactly. */
  rankLimit: number;
}

/** What the request list rules need of storage (RequestQueryService; an in-memory fake in unit tests). */
export interface RequestListStore {
  /** The page's requests (customer and operator loaded, dates as ISO strings) and the count of matches. */
  page(criteria: RequestListCriteria): Promise<{ items: RequestView[]; counted: number }>;
}

/**
 * The request list: filters, order and window in one SQL statement. Every value from the query
 * string is a bound parameter; sort columns come from a fixed map, and LIMIT and OFFSET are
 * validated integers written as literals, so that a prepared statement's generic plan is costed for
 * its page, not for 10% of the table (preparedQuery).
 *
 * Built for a queue of millions (docs/performance.md, "The queue list's id-first plan"): the page's ids are chosen on `requests`
 * alone, with its indexes, and only those rows are joined to their customer and operator (an offset
 * of 4,000 joins 20 rows, not 4,020); the count runs in the same statement over `requests` alone
 * and stops after countLimit + 1 matches, so a filter matching 50,000 requests costs what one
 * matching 1,000 does. The text search reads the stored, GIN-indexed `requests.search_vector`
 * (subjects and texts of the conversation).
 */
@Injectable()
export class RequestQueryRepository implements RequestListStore {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly replicas: ReadReplicas,
  ) {}

  async page(criteria: RequestListCriteria): Promise<{ items: RequestView[]; counted: number }> {
    const { offset, limit, countLimit } = criteria;
    const params: unknown[] = [];
    const bind = (value: unknown) => `$${params.push(value)}`;
    const statuses = criteria.statuses.map(bind);
    const others = this.conditions(criteria, bind);
    const where = (status: string | undefined) => {
      const and = [...(status ? [status] : []), ...others];
      return and.length ? fillSql(SQL.where, { conditions: and.join(SQL.and) }) : '';
    };
    // One status as an equality (the planner then reads requests_status_created in sort order).
    const allStatuses =
      statuses.length === 0
        ? undefined
        : statuses.length === 1
          ? fillSql(SQL.status, { status: statuses[0] })
          : fillSql(SQL.statuses, { statuses: statuses.join(', ') });
    const sort = this.order(criteria, bind);
    // The count reads at most countLimit + 1 matches (an index-only scan for the usual filters).
    const count = () =>
      countLimit
        ? fillSql(SQL.countUpTo, { where: where(allStatuses), upTo: literal(countLimit + 1) })
        : fillSql(SQL.countAll, { where: where(allStatuses) });
    const window = { order: sort.order, limit: literal(limit), offset: literal(offset) };
    let ctes: string;
    let outerOrder = sort.order;
    if (criteria.order === 'relevance' && criteria.rankLimit > 0) {
      // Ranked search over the newest rankLimit matches (docs/performance.md, "Search ranks its
      // newest matches"): a common word reads about a thousand matches, not all 125,000.
      const rankLimit = literal(criteria.rankLimit);
      const upTo = literal(Math.max(criteria.rankLimit, offset + limit, countLimit + 1));
      const rank = fillSql(SQL.rankWithin, { rankLimit, q: sort.q! });
      const total = countLimit ? SQL.countCandidates : fillSql(SQL.countAll, { where: where(allStatuses) });
      ctes = fillSql(SQL.boundedRankedCtes, {
        where: where(allStatuses),
        upTo,
        total,
        rankLimit,
        rank,
        limit: literal(limit),
        offset: literal(offset),
      });
      outerOrder = SQL.orderByPlace;
    } else if (criteria.order === 'relevance') {
      // Ranked search: every match is read and ranked anyway, so they are read once (one GIN scan,
      // not one for the count and one for the page) and counted exactly.
      ctes = fillSql(SQL.rankedCtes, { where: where(allStatuses), ...window });
    } else if (statuses.length > 1 && sort.column) {
      // Several statuses, sorted by a column: each status's requests in sort order (an index range
      // each, e.g. requests_status_created), merged. With IN (...) the planner must either sort every
      // match or walk the whole time line filtering (51,000 rows for "new,in_progress + operator 7").
      const upTo = literal(offset + limit);
      const branches = statuses.map((st) =>
        fillSql(SQL.branch, {
          column: sort.column!,
          where: where(fillSql(SQL.status, { status: st })),
          order: sort.order,
          upTo,
        }),
      );
      ctes = fillSql(SQL.mergedCtes, { count: count(), branches: branches.join(SQL.unionAll), ...window });
    } else {
      ctes = fillSql(SQL.ctes, { count: count(), where: where(allStatuses), ...window });
    }
    const sql = fillSql(SQL.list, { ctes, order: outerOrder });
    // A search's best plan depends on its words (a rare one: the GIN index; a common one with a
    // sort: walk the sort's index), so it is planned for them every time.
    // The dates are read as the answer's ISO strings (ISO_TIMESTAMPS): no Date per column and row.
    // On a read replica when the call may use one (GET /requests: docs/replicas.md).
    const rows = await this.replicas.read((dataSource) =>
      preparedQuery<RequestRow<IsoString> & { total: number }>(dataSource, sql, params, {
        named: criteria.q === undefined,
        types: ISO_TIMESTAMPS,
      }),
    );
    return { items: rows.filter((row) => row.id !== null).map(requestFromRow), counted: rows[0]?.total ?? 0 };
  }

  /**
   * ORDER BY of the page (over `requests r`): the sort column then id, or relevance; `column` is
   * the sort column besides id (none for id or relevance); `q`, relevance's placeholder of the words.
   */
  private order(
    criteria: RequestListCriteria,
    bind: (value: unknown) => string,
  ): { order: string; column?: string; q?: string } {
    if (criteria.order === 'relevance') {
      const q = bind(criteria.q);
      return { order: fillSql(SQL.orderByRelevance, { q }), q };
    }
    const { key, descending } = criteria.order;
    const direction = descending ? SQL.descending : SQL.ascending;
    if (key === 'id') return { order: fillSql(SQL.orderById, { direction }) };
    const column = SORT_COLUMNS[key];
    const template = key === 'lastMessageAt' ? SQL.orderByNullsLast : SQL.orderBy;
    return { order: fillSql(template, { column, direction }), column };
  }

  /** The conditions of the filters but status, over `requests r`, every value bound. */
  private conditions(criteria: RequestListCriteria, bind: (value: unknown) => string): string[] {
    const and: string[] = [];
    if (criteria.groupScope !== undefined)
      and.push(fillSql(SQL.groupScope, { groupIds: bind([...criteria.groupScope]) }));
    if (criteria.operatorId !== undefined) and.push(fillSql(SQL.operator, { operatorId: bind(criteria.operatorId) }));
    if (criteria.mailboxId !== undefined) and.push(fillSql(SQL.mailbox, { mailboxId: bind(criteria.mailboxId) }));
    if (criteria.groupId !== undefined) and.push(fillSql(SQL.group, { groupId: bind(criteria.groupId) }));
    if (criteria.customerEmail !== undefined) and.push(fillSql(SQL.customer, { email: bind(criteria.customerEmail) }));
    if (criteria.createdFrom !== undefined) and.push(fillSql(SQL.createdFrom, { from: bind(criteria.createdFrom) }));
    if (criteria.createdTo !== undefined) {
      const template = criteria.createdTo.inclusive ? SQL.createdUpTo : SQL.createdBefore;
      and.push(fillSql(template, { to: bind(criteria.createdTo.at) }));
    }
    if (criteria.overdue !== undefined) and.push(criteria.overdue ? SQL.overdue : SQL.notOverdue);
    if (criteria.priorities !== undefined) and.push(fillSql(SQL.priorities, { priorities: bind(criteria.priorities) }));
    if (criteria.tags !== undefined) and.push(fillSql(SQL.tags, { tags: bind(criteria.tags) }));
    if (criteria.q !== undefined) and.push(fillSql(SQL.search, { q: bind(criteria.q) }));
    return and;
  }
}
