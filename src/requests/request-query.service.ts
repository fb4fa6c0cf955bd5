import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { Page } from '../common/pagination';
import { ListRequestsQuery, REQUEST_SORT_COLUMNS, RequestSortKey } from './dto/list-requests.query';
import { ServiceRequest } from './request.entity';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Relevance of a request to `:q`: how well its subject matches. Requests that match only in a
 * message rank 0 and follow the subject hits, newest first. (Ranking message texts too meant
 * re-parsing every matching message: 300 ms for a common word over 100,000 requests.)
 */
const SEARCH_RANK = `ts_rank(to_tsvector('simple', r.subject), websearch_to_tsquery('simple', :q))`;

/** Parses a validated ISO 8601 value; 400 for a calendar-impossible one (2025-02-30). */
function toDate(name: string, value: string): Date {
  const d = new Date(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(d.getTime())) throw new BadRequestException(`${name} is not a valid date`);
  return d;
}

/**
 * The request list (`GET /requests`): filters, whitelisted sort and pagination, built with the
 * query builder and bound parameters only. The text search reads the stored, GIN-indexed
 * `requests.search_vector` (subjects and texts of the conversation).
 */
@Injectable()
export class RequestQueryService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** One page of requests (customer and operator loaded) and the total count. */
  async list(query: ListRequestsQuery): Promise<Page<ServiceRequest>> {
    const page = query.page ?? 1;
    const limit = query.limit ?? 20;
    const qb = this.filtered(
      this.dataSource
        .getRepository(ServiceRequest)
        .createQueryBuilder('r')
        .innerJoinAndSelect('r.customer', 'c')
        .leftJoinAndSelect('r.operator', 'o'),
      query,
    );
    // The total counts requests alone: every request has exactly one customer and at most one
    // operator, so the joins (and TypeORM's COUNT(DISTINCT) over them) only cost time; with them a
    // 50,000-row status count took ~300 ms on 1M requests, without them an index-only scan.
    const counted = this.filtered(
      this.dataSource.createQueryBuilder().select('count(*)::int', 'n').from(ServiceRequest, 'r'),
      query,
    );
    if (query.q !== undefined && query.sort === undefined) {
      // Ranked search: subject matches first, best first; then the newest.
      qb.orderBy(SEARCH_RANK, 'DESC').addOrderBy('r.id', 'DESC');
      return this.fetch(qb, counted, page, limit);
    }
    const sort = query.sort ?? '-createdAt';
    const descending = sort.startsWith('-');
    const key = (descending ? sort.slice(1) : sort) as RequestSortKey;
    const column = REQUEST_SORT_COLUMNS[key];
    if (!column) throw new BadRequestException('sort is not a sortable field');
    const direction = descending ? 'DESC' : 'ASC';
    if (key === 'lastMessageAt') qb.orderBy(column, direction, 'NULLS LAST');
    else qb.orderBy(column, direction);
    if (key !== 'id') qb.addOrderBy('r.id', direction);
    return this.fetch(qb, counted, page, limit);
  }

  private async fetch(
    qb: SelectQueryBuilder<ServiceRequest>,
    counted: SelectQueryBuilder<ObjectLiteral>,
    page: number,
    limit: number,
  ): Promise<Page<ServiceRequest>> {
    const [items, row] = await Promise.all([
      qb
        .offset((page - 1) * limit)
        .limit(limit)
        .getMany(),
      counted.getRawOne<{ n: number }>(),
    ]);
    return { items, total: row?.n ?? 0, page, limit };
  }

  /** The filters of `query` on a query builder whose requests alias is `r` (bound parameters only). */
  private filtered<T extends ObjectLiteral>(
    qb: SelectQueryBuilder<T>,
    query: ListRequestsQuery,
  ): SelectQueryBuilder<T> {
    if (query.status?.length) qb.andWhere('r.status IN (:...statuses)', { statuses: [...new Set(query.status)] });
    if (query.operatorId !== undefined) qb.andWhere('r.operator_id = :operatorId', { operatorId: query.operatorId });
    if (query.customer !== undefined)
      qb.andWhere('r.customer_id = (SELECT cu.id FROM customers cu WHERE cu.email = :customer)', {
        customer: query.customer.trim().toLowerCase(),
      });
    if (query.createdFrom !== undefined)
      qb.andWhere('r.created_at >= :createdFrom', { createdFrom: toDate('createdFrom', query.createdFrom) });
    if (query.createdTo !== undefined) {
      const to = toDate('createdTo', query.createdTo);
      if (DATE_ONLY.test(query.createdTo))
        qb.andWhere('r.created_at < :createdTo', { createdTo: new Date(to.getTime() + 86_400_000) });
      else qb.andWhere('r.created_at <= :createdTo', { createdTo: to });
    }
    if (query.overdue !== undefined) {
      // The same rule as isOverdue(); the partial indexes requests_first_response_due and requests_resolution_due serve it.
      const overdue = `(r.status <> 'closed' AND ((r.first_response_at IS NULL AND r.first_response_due_at < now()) OR r.resolution_due_at < now()))`;
      qb.andWhere(query.overdue === 'true' ? overdue : `NOT coalesce(${overdue}, false)`);
    }
    if (query.q !== undefined) {
      qb.andWhere(`r.search_vector @@ websearch_to_tsquery('simple', :q)`, { q: query.q });
    }
    return qb;
  }
}
