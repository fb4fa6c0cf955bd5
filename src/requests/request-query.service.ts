import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Page } from '../common/pagination';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { preparedQuery } from '../database/prepared';
import { ISO_TIMESTAMPS, type IsoString } from '../database/timestamps';
import { ListRequestsQuery, REQUEST_SORT_COLUMNS, RequestSortKey } from './dto/list-requests.query';
import { REQUEST_COLUMNS, RequestRow, requestFromRow } from './request-row';
import type { RequestView } from './dto/request.dto';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A whole number as an SQL literal (LIMIT and OFFSET: see preparedQuery). */
function literal(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a row count: ${n}`);
  return String(n);
}

/** One page of requests and how many match: exactly, or (totalExact false) at least `total`. */
export interface RequestPage extends Page<RequestView> {
  totalExact: boolean;
}

/** Parses a validated ISO 8601 value; 400 for a calendar-impossible one (2025-02-30). */
function toDate(name: string, value: string): Date {
  const d = new Date(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(d.getTime())) throw new BadRequestException(`${name} is not a valid date`);
  return d;
}

/**
 * The request list (`GET /requests`): filters, whitelisted sort and pagination in one SQL statement.
 * Every value from the query string is a bound parameter; sort columns come from a fixed map, and
 * LIMIT and OFFSET are validated integers written as literals, so that a prepared statement's
 * generic plan is costed for its page, not for 10% of the table (preparedQuery).
 *
 * Built for a queue of millions (bench/results/history.md): the page's ids are chosen on `requests` alone, with
 * its indexes, and only those rows are joined to their customer and operator (an offset of 4,000
 * joins 20 rows, not 4,020); the count runs in the same statement over `requests` alone and stops
 * after REQUESTS_COUNT_LIMIT + 1 matches, so a filter matching 50,000 requests costs what one
 * matching 1,000 does; past the limit the answer says `totalExact: false`. The text search reads
 * the stored, GIN-indexed `requests.search_vector` (subjects and texts of the conversation).
 */
@Injectable()
export class RequestQueryService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'queue'>,
  ) {}

  /** One page of requests (customer and operator loaded) and the count of matches. */
  async list(query: ListRequestsQuery): Promise<RequestPage> {
    const page = query.page ?? 1;
    const limit = query.limit ?? 20;
    const params: unknown[] = [];
    const bind = (value: unknown) => `$${params.push(value)}`;
    const statuses = [...new Set(query.status ?? [])].map(bind);
    const others = this.filters(query, bind);
    const where = (status: string | undefined) => {
      const and = [...(status ? [status] : []), ...others];
      return and.length ? `WHERE ${and.join(' AND ')}` : '';
    };
    // One status as an equality (the planner then reads requests_status_created in sort order).
    const allStatuses =
      statuses.length === 0
        ? undefined
        : statuses.length === 1
          ? `r.status = ${statuses[0]}`
          : `r.status IN (${statuses.join(', ')})`;
    // Ranked search: relevance order (no `sort` given), every match read, ranked and counted.
    const ranked = query.q !== undefined && query.sort === undefined;
    const sort = this.sort(query, ranked, bind);
    const countLimit = this.config.queue.countLimit;
    // The count reads at most countLimit + 1 matches (an index-only scan for the usual filters).
    const counted = () =>
      countLimit
        ? `SELECT count(*)::int AS n FROM (SELECT 1 FROM requests r ${where(allStatuses)} LIMIT ${literal(countLimit + 1)}) m`
        : `SELECT count(*)::int AS n FROM requests r ${where(allStatuses)}`;
    const offset = (page - 1) * limit;
    const pageLimit = literal(limit);
    const pageOffset = literal(offset);
    let ctes: string;
    if (ranked) {
      // Ranked search: every match is read and ranked anyway, so they are read once (one GIN scan,
      // not one for the count and one for the page) and counted exactly.
      ctes = `m AS MATERIALIZED (SELECT r.id, r.subject FROM requests r ${where(allStatuses)}),
      total AS (SELECT count(*)::int AS n FROM m),
      ids AS (SELECT r.id FROM m r ORDER BY ${sort.order} LIMIT ${pageLimit} OFFSET ${pageOffset})`;
    } else if (statuses.length > 1 && sort.column) {
      // Several statuses, sorted by a column: each status's requests in sort order (an index range
      // each, e.g. requests_status_created), merged. With IN (...) the planner must either sort every
      // match or walk the whole time line filtering (51,000 rows for "new,in_progress + operator 7").
      const upTo = literal(offset + limit);
      const branches = statuses.map(
        (st) =>
          `(SELECT r.id, ${sort.column} FROM requests r ${where(`r.status = ${st}`)} ORDER BY ${sort.order} LIMIT ${upTo})`,
      );
      ctes = `total AS (${counted()}),
      ids AS (SELECT r.id FROM (${branches.join(' UNION ALL ')}) r ORDER BY ${sort.order} LIMIT ${pageLimit} OFFSET ${pageOffset})`;
    } else {
      ctes = `total AS (${counted()}),
      ids AS (SELECT r.id FROM requests r ${where(allStatuses)} ORDER BY ${sort.order} LIMIT ${pageLimit} OFFSET ${pageOffset})`;
    }
    const sql = `
      WITH ${ctes}
      SELECT total.n AS total, ${REQUEST_COLUMNS}
      FROM total
      LEFT JOIN (ids JOIN requests r ON r.id = ids.id
        JOIN customers c ON c.id = r.customer_id
        LEFT JOIN operators o ON o.id = r.operator_id) ON true
      ORDER BY ${sort.order}`;
    // A search's best plan depends on its words (a rare one: the GIN index; a common one with a
    // sort: walk the sort's index), so it is planned for them every time.
    // The dates are read as the answer's ISO strings (ISO_TIMESTAMPS): no Date per column and row.
    const rows = await preparedQuery<RequestRow<IsoString> & { total: number }>(this.dataSource, sql, params, {
      named: query.q === undefined,
      types: ISO_TIMESTAMPS,
    });
    const items = rows.filter((row) => row.id !== null).map(requestFromRow);
    return { items, ...this.total(rows[0]?.total ?? 0, ranked, offset, items.length, limit), page, limit };
  }

  /**
   * The total from the count `n`, read up to countLimit + 1 matches. Past the limit, the page itself
   * says more: a partial page is the last one (the total is exact), a full one shows at least its end.
   */
  private total(
    n: number,
    ranked: boolean,
    offset: number,
    shown: number,
    limit: number,
  ): { total: number; totalExact: boolean } {
    const countLimit = this.config.queue.countLimit;
    if (!countLimit || n <= countLimit || ranked) return { total: n, totalExact: true };
    if (shown > 0 && shown < limit) return { total: offset + shown, totalExact: true };
    // A full page shows matches up to its end; an empty one (past the end) proves only the limit.
    return { total: shown ? Math.max(countLimit, offset + shown) : countLimit, totalExact: false };
  }

  /**
   * ORDER BY of the page (over `requests r`): the whitelisted sort column then id, or relevance for a
   * search without `sort`; `column` is the sort column besides id (none for id or relevance).
   */
  private sort(
    query: ListRequestsQuery,
    ranked: boolean,
    bind: (value: unknown) => string,
  ): { order: string; column?: string } {
    if (ranked) {
      // Relevance: how well the subject matches (a hit only in a message ranks 0), then the newest.
      // (Ranking message texts too meant re-parsing every matching message: 300 ms for a common word
      // over 100,000 requests.)
      return {
        order: `ts_rank(to_tsvector('simple', r.subject), websearch_to_tsquery('simple', ${bind(query.q)})) DESC, r.id DESC`,
      };
    }
    const sort = query.sort ?? '-createdAt';
    const descending = sort.startsWith('-');
    const key = (descending ? sort.slice(1) : sort) as RequestSortKey;
    const column = REQUEST_SORT_COLUMNS[key];
    if (!column) throw new BadRequestException('sort is not a sortable field');
    const direction = descending ? 'DESC' : 'ASC';
    if (key === 'id') return { order: `${column} ${direction}` };
    const first = key === 'lastMessageAt' ? `${column} ${direction} NULLS LAST` : `${column} ${direction}`;
    return { order: `${first}, r.id ${direction}`, column };
  }

  /** The conditions of the filters in `query` but status, over `requests r`, every value bound. */
  private filters(query: ListRequestsQuery, bind: (value: unknown) => string): string[] {
    const and: string[] = [];
    if (query.operatorId !== undefined) and.push(`r.operator_id = ${bind(query.operatorId)}`);
    if (query.customer !== undefined)
      and.push(
        `r.customer_id = (SELECT cu.id FROM customers cu WHERE cu.email = ${bind(query.customer.trim().toLowerCase())})`,
      );
    if (query.createdFrom !== undefined) and.push(`r.created_at >= ${bind(toDate('createdFrom', query.createdFrom))}`);
    if (query.createdTo !== undefined) {
      const to = toDate('createdTo', query.createdTo);
      if (DATE_ONLY.test(query.createdTo)) and.push(`r.created_at < ${bind(new Date(to.getTime() + 86_400_000))}`);
      else and.push(`r.created_at <= ${bind(to)}`);
    }
    if (query.overdue !== undefined) {
      // The same rule as isOverdue(); the partial indexes requests_first_response_due and requests_resolution_due serve it.
      const overdue = `(r.status <> 'closed' AND ((r.first_response_at IS NULL AND r.first_response_due_at < now()) OR r.resolution_due_at < now()))`;
      and.push(query.overdue === 'true' ? overdue : `NOT coalesce(${overdue}, false)`);
    }
    if (query.q !== undefined) and.push(`r.search_vector @@ websearch_to_tsquery('simple', ${bind(query.q)})`);
    return and;
  }
}
