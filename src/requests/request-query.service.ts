import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { Page } from '../common/pagination';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ListRequestsQuery, REQUEST_SORT_KEYS, type RequestSortKey } from './dto/list-requests.query';
import type { RequestView } from './dto/request.dto';
import { type RequestListCriteria, type RequestListStore, RequestQueryRepository } from './request-query.repository';
import { type RequestActor, requestScope } from './request-scope';
import { normalizeTag } from './tags';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

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
 * The request list (`GET /requests`): reads the query string into the criteria of one page
 * (RequestQueryRepository runs it as one SQL statement) and tells how exact its total is. The
 * count stops after REQUESTS_COUNT_LIMIT + 1 matches; past the limit the answer says
 * `totalExact: false`.
 */
@Injectable()
export class RequestQueryService {
  constructor(
    @Inject(RequestQueryRepository) private readonly requests: RequestListStore,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'queue'>,
  ) {}

  /**
   * One page of the requests the actor sees (customer and operator loaded) and the count of
   * matches: an operator in groups, only those groups' requests (requestScope).
   */
  async list(query: ListRequestsQuery, actor: RequestActor): Promise<RequestPage> {
    const page = query.page ?? 1;
    const limit = query.limit ?? 20;
    const offset = (page - 1) * limit;
    const criteria = this.criteria(query, offset, limit);
    const scope = requestScope(actor);
    if (scope !== null) criteria.groupScope = scope;
    const { items, counted } = await this.requests.page(criteria);
    // Only a search ranking every match (REQUESTS_SEARCH_RANK_LIMIT=0) counts them all.
    const countedAll = criteria.order === 'relevance' && criteria.rankLimit === 0;
    return { items, ...this.total(counted, countedAll, offset, items.length, limit), page, limit };
  }

  /** The page's criteria: dates parsed (400 for an impossible one), the sort checked (400), the customer lower-cased. */
  private criteria(query: ListRequestsQuery, offset: number, limit: number): RequestListCriteria {
    const criteria: RequestListCriteria = {
      statuses: [...new Set(query.status ?? [])],
      operatorId: query.operatorId,
      mailboxId: query.mailboxId,
      groupId: query.groupId,
      customerEmail: query.customer?.trim().toLowerCase(),
      createdFrom: query.createdFrom === undefined ? undefined : toDate('createdFrom', query.createdFrom),
      overdue: query.overdue === undefined ? undefined : query.overdue === 'true',
      q: query.q,
      priorities: query.priority === undefined ? undefined : [...new Set(query.priority)],
      tags: query.tag === undefined ? undefined : this.tags(query.tag),
      order: 'relevance',
      offset,
      limit,
      countLimit: this.config.queue.countLimit,
      rankLimit: this.config.queue.searchRankLimit,
    };
    if (query.createdTo !== undefined) {
      const to = toDate('createdTo', query.createdTo);
      // A bare date includes that whole day (UTC): up to the next midnight, excluded.
      criteria.createdTo = DATE_ONLY.test(query.createdTo)
        ? { at: new Date(to.getTime() + 86_400_000), inclusive: false }
        : { at: to, inclusive: true };
    }
    // Ranked search: relevance order (no `sort` given) over the newest rankLimit matches.
    if (query.q === undefined || query.sort !== undefined) criteria.order = this.sort(query.sort ?? '-createdAt');
    return criteria;
  }

  /** The `tag` filter normalized as tags are stored; 400 for a value that is no tag. */
  private tags(raw: string[]): string[] | undefined {
    const tags = raw.map((t) => {
      const tag = normalizeTag(t);
      if (tag === null) throw new BadRequestException(`tag "${t.slice(0, 60)}" is not a valid tag`);
      return tag;
    });
    return tags.length ? [...new Set(tags)] : undefined;
  }

  /** A `sort` value as its key and direction; 400 for anything but a sort key, optionally prefixed with `-`. */
  private sort(sort: string): { key: RequestSortKey; descending: boolean } {
    const descending = sort.startsWith('-');
    const key = (descending ? sort.slice(1) : sort) as RequestSortKey;
    if (!REQUEST_SORT_KEYS.includes(key)) throw new BadRequestException('sort is not a sortable field');
    return { key, descending };
  }

  /**
   * The total from the count `n`, read up to countLimit + 1 matches. Past the limit, the page itself
   * says more: a partial page is the last one (the total is exact), a full one shows at least its end.
   */
  private total(
    n: number,
    countedAll: boolean,
    offset: number,
    shown: number,
    limit: number,
  ): { total: number; totalExact: boolean } {
    const countLimit = this.config.queue.countLimit;
    if (!countLimit || n <= countLimit || countedAll) return { total: n, totalExact: true };
    if (shown > 0 && shown < limit) return { total: offset + shown, totalExact: true };
    // A full page shows matches up to its end; an empty one (past the end) proves only the limit.
    return { total: shown ? Math.max(countLimit, offset + shown) : countLimit, totalExact: false };
  }
}
