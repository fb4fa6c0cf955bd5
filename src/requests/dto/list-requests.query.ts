import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { REQUEST_STATUSES, type RequestStatus } from '../request.entity';
import { PRIORITIES, type Priority } from '../tags';

/**
 * Sort keys of `GET /requests`: the only way a sort reaches SQL (RequestQueryRepository orders by
 * the column of its key).
 */
export const REQUEST_SORT_KEYS = ['createdAt', 'updatedAt', 'status', 'lastMessageAt', 'priority', 'id'] as const;

export type RequestSortKey = (typeof REQUEST_SORT_KEYS)[number];

/** Every accepted value of `sort`: a key, optionally prefixed with `-` for descending. */
export const REQUEST_SORTS: string[] = REQUEST_SORT_KEYS.flatMap((k) => [k, `-${k}`]);

/** `status=new,in_progress` (or repeated `status=`) as a list. */
function splitList({ value }: { value: unknown }): unknown {
  const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => (typeof v === 'string' ? v.split(',') : [v]));
  return parts.map((p) => (typeof p === 'string' ? p.trim() : p)).filter((p) => p !== '');
}

/** Query of `GET /requests`: filters, sort and page. Unknown parameters are a 400. */
export class ListRequestsQuery extends PageQuery {
  // No examples on the filters: Swagger UI's "Try it out" fills the fields with them, and a first
  // try would then ask for a customer, a date range and tags that match nothing.
  @ApiPropertyOptional({
    description: 'One or several statuses, comma separated.',
    example: 'new,in_progress',
    type: String,
  })
  @IsOptional()
  @Transform(splitList)
  @IsArray()
  @ArrayMaxSize(3)
  @IsIn(REQUEST_STATUSES, { each: true, message: `status must be a comma list of ${REQUEST_STATUSES.join(', ')}` })
  status?: RequestStatus[];

  @ApiPropertyOptional({ description: 'Assigned operator id.', type: 'integer' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  operatorId?: number;

  @ApiPropertyOptional({
    description: 'Mailbox id: the requests whose mail came to that mailbox (GET /mailboxes).',
    type: 'integer',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  mailboxId?: number;

  @ApiPropertyOptional({
    description: 'Group id: the requests of that group (GET /groups). An operator in groups sees only theirs anyway.',
    type: 'integer',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  groupId?: number;

  @ApiPropertyOptional({
    description: "Customer's email address (exact, case-insensitive).",
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(320)
  customer?: string;

  @ApiPropertyOptional({ description: 'Created at or after (ISO 8601).' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'createdFrom must be an ISO 8601 date or date-time' })
  createdFrom?: string;

  @ApiPropertyOptional({
    description: 'Created at or before (ISO 8601; a bare date includes that whole day, UTC).',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'createdTo must be an ISO 8601 date or date-time' })
  createdTo?: string;

  @ApiPropertyOptional({
    description:
      'Full-text search in subjects and message texts (web-search syntax: words, "phrases", -excluded, or). Without `sort`, the best matches come first (a hit in the subject weighs more than one in a message), then the newest.',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  q?: string;

  @ApiPropertyOptional({
    description:
      'true: open requests past a target (first response due without an answer, or resolution due); false: the others.',
    enum: ['true', 'false'],
  })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'overdue must be true or false' })
  overdue?: 'true' | 'false';

  @ApiPropertyOptional({
    description: 'One or several priorities, comma separated (low, normal, high, urgent).',
    type: String,
  })
  @IsOptional()
  @Transform(splitList)
  @IsArray()
  @ArrayMaxSize(4)
  @IsIn(PRIORITIES, { each: true, message: `priority must be a comma list of ${PRIORITIES.join(', ')}` })
  priority?: Priority[];

  @ApiPropertyOptional({
    description:
      'One or several tags, comma separated: the requests carrying all of them. Normalized as stored (`VIP Customer` is `vip-customer`); at most 5.',
    type: String,
  })
  @IsOptional()
  @Transform(splitList)
  @IsArray()
  @ArrayMaxSize(5)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  tag?: string[];

  @ApiPropertyOptional({
    enum: REQUEST_SORTS,
    default: '-createdAt',
    description:
      '`-` prefix: descending. Default: `-createdAt`, or relevance when `q` is given. `priority`: urgent first, then the oldest.',
  })
  @IsOptional()
  @IsIn(REQUEST_SORTS, { message: `sort must be one of ${REQUEST_SORTS.join(', ')}` })
  sort?: string;
}

/** Query of `GET /tags`: which requests the tags are counted over. */
export class TagCountsQuery {
  @ApiPropertyOptional({
    description: 'One or several statuses, comma separated. Default: new,in_progress (open requests).',
    example: 'new,in_progress,closed',
    type: String,
  })
  @IsOptional()
  @Transform(splitList)
  @IsArray()
  @ArrayMaxSize(3)
  @IsIn(REQUEST_STATUSES, { each: true, message: `status must be a comma list of ${REQUEST_STATUSES.join(', ')}` })
  status?: RequestStatus[];
}
