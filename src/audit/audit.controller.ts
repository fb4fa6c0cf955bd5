import { BadRequestException, Controller, Get, Headers, Query, Res, StreamableFile } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { AdminApi } from '../common/api.decorators';
import { csvLine, wantsCsv } from '../common/csv';
import { ErrorResponseDto } from '../common/error.dto';
import { type AuditFilter, AuditService } from './audit.service';
import {
  AUDIT_CSV_COLUMNS,
  AUDIT_MAX_LIMIT,
  AuditPageDto,
  AuditQueryDto,
  auditCsvValues,
  toAuditEntry,
} from './audit.dto';
import { ReadsFromReplica } from '../replicas/reads-from-replica.decorator';
import { ReadReplicas } from '../replicas/read-replicas.service';

const CSV_EXAMPLE =
  `${AUDIT_CSV_COLUMNS.join(',')}\r\n` +
  '1042,2026-12-07T09:15:02.113Z,2,ada@desk.test,admin,,203.0.113.7,PATCH,PATCH /customers/:id,customer.update,customer,7,' +
  '3f0c8c1e-3d0b-4c84-9a53-2f3f5d1c9a10,200,"{""name"":""Bob""}","{""name"":""Robert""}","{""body"":{""name"":""Robert""}}"\r\n';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * `name`'s ISO text as a Date; 400 when it is no date. `to` is exclusive here: one millisecond past
 * the time given (the log keeps microseconds, answers milliseconds: a row's own `at` as `to` finds
 * that row), a day past a bare date (that whole day, UTC).
 */
function dateOf(name: 'from' | 'to', value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new BadRequestException(`${name} is not a valid date`);
  if (name === 'from') return d;
  return new Date(d.getTime() + (DATE_ONLY.test(value) ? 86_400_000 : 1));
}

/** The audit log, for admins: who changed what, when, from where. */
@AdminApi('audit')
@Controller('audit')
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly replicas: ReadReplicas,
  ) {}

  @Get()
  @ReadsFromReplica()
  @ApiOperation({
    summary:
      'The audit log (admins): every change made through the API or the CLI, newest first, filtered; ' +
      'keyset pages (before, limit; nextBefore and a Link header lead on); every matching row as CSV with Accept: text/csv or format=csv',
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({
    description: 'A page of changes; as CSV (every matching row, before/after/data as JSON) with Accept: text/csv or format=csv',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(AuditPageDto) } },
      'text/csv': { schema: { type: 'string', example: CSV_EXAMPLE } },
    },
  })
  @ApiExtraModels(AuditPageDto)
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'An invalid filter, cursor or limit' })
  async list(
    @Query() query: AuditQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AuditPageDto | StreamableFile> {
    const from = dateOf('from', query.from);
    const to = dateOf('to', query.to);
    if (from && to && from >= to) throw new BadRequestException('from is after to');
    const filter: AuditFilter = {
      operatorId: query.operatorId,
      deskRequestId: query.requestId,
      action: query.action,
      entity: query.entity,
      entityId: query.entityId,
      from,
      to,
      httpRequestId: query.httpRequestId,
      beforeId: query.before,
      limit: query.limit,
    };
    if (query.format === 'csv' || (query.format === undefined && wantsCsv(accept))) {
      // Read as the client takes it, on the standby chosen for this call (if any).
      const csv = this.replicas.scoped(this.csv({ ...filter, limit: AUDIT_MAX_LIMIT }));
      return new StreamableFile(Readable.from(csv), {
        type: 'text/csv; charset=utf-8',
        disposition: `attachment; filename="maildesk-audit-${new Date().toISOString().slice(0, 10)}.csv"`,
      });
    }
    const items = (await this.audit.list(filter)).map(toAuditEntry);
    const nextBefore = items.length === query.limit ? items[items.length - 1].id : null;
    if (nextBefore !== null) void reply.header('Link', `<${nextLink(query, nextBefore)}>; rel="next"`);
    return { items, nextBefore };
  }

  /** The CSV text, a header then a batch of rows at a time (read as the client takes them). */
  private async *csv(filter: AuditFilter): AsyncGenerator<string> {
    yield csvLine(AUDIT_CSV_COLUMNS);
    for await (const rows of this.audit.walk(filter)) {
      yield rows.map((r) => csvLine(auditCsvValues(toAuditEntry(r)))).join('');
    }
  }
}

/** The URL of the next page: the same query with `before` moved on. */
function nextLink(query: AuditQueryDto, nextBefore: string): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && k !== 'before') params.set(k, String(v));
  }
  params.set('before', nextBefore);
  return `/audit?${params.toString()}`;
}
