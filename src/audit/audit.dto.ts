import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import type { AuditRecord } from './audit.repository';

/** Most rows one page of GET /audit holds (and one batch of its CSV export reads). */
export const AUDIT_MAX_LIMIT = 200;

/** Query of `GET /audit`: filters, a keyset page, the format. Unknown parameters are a 400. */
export class AuditQueryDto {
  @ApiPropertyOptional({ description: 'Changes made by this operator (or their tokens).', example: 2, type: 'integer' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  operatorId?: number;

  @ApiPropertyOptional({
    description: 'Changes of this request (entity request): assignment, replies, tags, closing, ...',
    example: 42,
    type: 'integer',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  requestId?: number;

  @ApiPropertyOptional({ description: 'One action, e.g. request.assign, customer.update.', example: 'request.assign' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9_.]{1,100}$/, { message: 'action is lower-case words joined by dots and underscores' })
  action?: string;

  @ApiPropertyOptional({ description: 'One kind of thing changed, e.g. request, operator, mailbox.', example: 'customer' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9_]{1,50}$/, { message: 'entity is a lower-case word (request, operator, mailbox, ...)' })
  entity?: string;

  @ApiPropertyOptional({ description: 'The id of the thing changed (with entity).', example: 7, type: 'integer' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  entityId?: number;

  @ApiPropertyOptional({ description: 'Made at or after (ISO 8601).', example: '2026-12-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date or date-time' })
  from?: string;

  @ApiPropertyOptional({
    description: 'Made at or before (ISO 8601; a bare date includes that whole day, UTC).',
    example: '2026-12-31',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date or date-time' })
  to?: string;

  @ApiPropertyOptional({
    description: 'The change made by the HTTP request with this X-Request-Id.',
    example: '3f0c8c1e-3d0b-4c84-9a53-2f3f5d1c9a10',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._:@/+=-]{1,128}$/, { message: 'httpRequestId is an X-Request-Id (at most 128 characters)' })
  httpRequestId?: string;

  @ApiPropertyOptional({
    description: 'Keyset cursor: rows older than this id (nextBefore of the previous page).',
    example: '1042',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[1-9]\d{0,17}$/, { message: 'before is a row id (nextBefore of the previous page)' })
  before?: string;

  @ApiPropertyOptional({ description: `Rows per page, at most ${AUDIT_MAX_LIMIT}.`, default: 50, example: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(AUDIT_MAX_LIMIT)
  limit: number = 50;

  @ApiPropertyOptional({
    description: 'csv: every matching row as CSV, newest first (as Accept: text/csv).',
    enum: ['json', 'csv'],
  })
  @IsOptional()
  @IsIn(['json', 'csv'])
  format?: 'json' | 'csv';
}

/** One change. */
export class AuditEntryDto {
  @ApiProperty({ example: '1042', description: 'Row id (a string: the table counts past 2^53)' })
  id: string;

  @ApiProperty({ example: '2026-12-07T09:15:02.113Z' })
  at: string;

  @ApiProperty({ example: 2, nullable: true, type: 'integer', description: 'Who: the operator (null: the CLI)' })
  actorOperatorId: number | null;

  @ApiProperty({ example: 'ada@desk.test', nullable: true, type: String, description: 'Their email at the time' })
  actorEmail: string | null;

  @ApiProperty({ enum: ['admin', 'operator', 'system'], example: 'operator', description: 'Their role at the time; system: the CLI' })
  actorRole: 'admin' | 'operator' | 'system';

  @ApiProperty({ example: null, nullable: true, type: 'integer', description: 'The personal access token used, if any' })
  apiTokenId: number | null;

  @ApiProperty({ example: '203.0.113.7', nullable: true, type: String, description: 'The client address (TRUST_PROXY)' })
  ip: string | null;

  @ApiProperty({ example: 'PATCH' })
  method: string;

  @ApiProperty({ example: 'PATCH /customers/:id', description: 'The route (pattern), or `maildesk <command>`' })
  route: string;

  @ApiProperty({ example: 'customer.update' })
  action: string;

  @ApiProperty({ example: 'customer' })
  entity: string;

  @ApiProperty({ example: 7, nullable: true, type: 'integer' })
  entityId: number | null;

  @ApiProperty({
    example: '3f0c8c1e-3d0b-4c84-9a53-2f3f5d1c9a10',
    nullable: true,
    type: String,
    description: 'The X-Request-Id of the call (also in the request log and error answers)',
  })
  httpRequestId: string | null;

  @ApiProperty({ example: 200, nullable: true, type: 'integer' })
  statusCode: number | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'The entity before the change (secrets left out); null for a creation',
    example: { id: 7, name: 'Bob' },
  })
  before: unknown;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'The entity after the change (secrets left out); null once deleted',
    example: { id: 7, name: 'Robert' },
  })
  after: unknown;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'The call: its body (secrets redacted, message texts as lengths), other ids',
    example: { body: { name: 'Robert' } },
  })
  data: unknown;
}

/** A page of the audit log, newest first. */
export class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto] })
  items: AuditEntryDto[];

  @ApiProperty({
    example: '1001',
    nullable: true,
    type: String,
    description: 'Pass as `before` for the next (older) page; null on the last page (a Link header leads there too)',
  })
  nextBefore: string | null;
}

export function toAuditEntry(r: AuditRecord): AuditEntryDto {
  return {
    id: r.id,
    at: r.at.toISOString(),
    actorOperatorId: r.actorOperatorId,
    actorEmail: r.actorEmail,
    actorRole: r.actorRole,
    apiTokenId: r.apiTokenId,
    ip: r.ip,
    method: r.method,
    route: r.route,
    action: r.action,
    entity: r.entity,
    entityId: r.entityId,
    httpRequestId: r.httpRequestId,
    statusCode: r.statusCode,
    before: r.before,
    after: r.after,
    data: r.data,
  };
}

/** The CSV export's columns, in order (before, after and data as JSON text). */
export const AUDIT_CSV_COLUMNS = [
  'id',
  'at',
  'actor_operator_id',
  'actor_email',
  'actor_role',
  'api_token_id',
  'ip',
  'method',
  'route',
  'action',
  'entity',
  'entity_id',
  'http_request_id',
  'status_code',
  'before',
  'after',
  'data',
] as const;

/** One CSV record's values, in AUDIT_CSV_COLUMNS order. */
export function auditCsvValues(e: AuditEntryDto): Array<string | number | null> {
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
  return [
    e.id,
    e.at,
    e.actorOperatorId,
    e.actorEmail,
    e.actorRole,
    e.apiTokenId,
    e.ip,
    e.method,
    e.route,
    e.action,
    e.entity,
    e.entityId,
    e.httpRequestId,
    e.statusCode,
    json(e.before),
    json(e.after),
    json(e.data),
  ];
}
