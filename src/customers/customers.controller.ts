import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Query, Res, StreamableFile } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Audited } from '../common/audit.decorators';
import { OperatorApi } from '../common/api.decorators';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
} from '@nestjs/swagger';
import { type AuthOperator, CurrentOperator, Roles } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import {
  CustomerDetailDto,
  CustomerPageDto,
  EraseCustomerDto,
  ListCustomersQuery,
  toCustomerDetail,
  toCustomerResponse,
  UpdateCustomerDto,
} from './customers.dto';
import { CustomerErasureService, type ErasureReport } from './customer-erasure.service';
import { CustomerExportService } from './customer-export.service';
import { CustomersService } from './customers.service';
import { ReadsFromReplica } from '../replicas/reads-from-replica.decorator';

/**
 * Customers: every operator searches and reads them; admins rename and block them, export all
 * their data and erase them (docs/privacy.md).
 */
@OperatorApi('customers')
@Controller('customers')
export class CustomersController {
  constructor(
    private readonly customers: CustomersService,
    private readonly exports: CustomerExportService,
    private readonly erasure: CustomerErasureService,
  ) {}

  @Get()
  @ReadsFromReplica()
  @ApiOperation({ summary: 'Search customers by address or name, paginated' })
  @ApiOkResponse({ type: CustomerPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Bad q, page or limit' })
  async list(@Query() query: ListCustomersQuery, @CurrentOperator() actor: AuthOperator): Promise<CustomerPageDto> {
    const page = await this.customers.list(query.q, query.page, query.limit, actor);
    return { ...page, items: page.items.map(toCustomerResponse) };
  }

  @Get(':id')
  @ApiOperation({
    summary: "One customer with their requests (newest first; an operator in groups: only their groups' requests)",
  })
  @ApiOkResponse({ type: CustomerDetailDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such customer' })
  async get(@Param('id', ParseIdPipe) id: number, @CurrentOperator() actor: AuthOperator): Promise<CustomerDetailDto> {
    return toCustomerDetail(await this.customers.get(id, actor));
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'Rename, block/unblock or set the language of a customer (admin)' })
  @ApiOkResponse({ type: CustomerDetailDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid fields or id' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not an admin' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such customer' })
  async update(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: UpdateCustomerDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<CustomerDetailDto> {
    return toCustomerDetail(await this.customers.update(id, body, actor));
  }

  @Get(':id/export')
  @Roles('admin')
  @ApiOperation({
    summary: 'Everything stored about a customer as one zip, streamed (admin)',
    description:
      'customer.json, each request (fields, tags, participants, history), each message (headers, text, html), ' +
      'the attachments as files, the raw mails (.eml) kept, the mails sent to them, and README.txt listing it all ' +
      '(docs/privacy.md). Written while it is sent: one file at a time is read.',
  })
  @ApiProduces('application/zip')
  @ApiOkResponse({ description: 'The zip, as a download', schema: { type: 'string', format: 'binary' } })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not an admin' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such customer' })
  async export(
    @Param('id', ParseIdPipe) id: number,
    @CurrentOperator() actor: AuthOperator,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<StreamableFile> {
    const archive = await this.exports.archive(id, actor);
    res.header('Content-Type', 'application/zip');
    res.header('Content-Disposition', `attachment; filename="${archive.filename}"`);
    res.header('X-Content-Type-Options', 'nosniff');
    res.header('Cache-Control', 'private, no-store');
    return new StreamableFile(archive.stream);
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  // The record of an erasure holds ids and counts only: no snapshot of the customer, not the
  // confirmation; what went (the handler's result, never sent: 204) is its data.answer.
  @Audited({ action: 'customer.erase', snapshot: false, presentOnly: ['confirm'], recordAnswer: true })
  @ApiOperation({
    summary: "Erase a customer and everything of theirs (admin; the body confirms with the customer's address)",
    description:
      'Their requests, messages, attachments, raw mails, mails to them (pending ones cancelled), webhook deliveries ' +
      "and history about them, and their address in others' requests, in one transaction. The reports keep " +
      'counting their requests without them; the audit record (action customer.erase) holds what went, by ids and ' +
      'counts only. Mail from the address later opens a new customer and request (docs/privacy.md).',
  })
  @ApiNoContentResponse({ description: 'Erased' })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: "confirm missing or not the customer's address; bad id",
  })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not an admin' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such customer' })
  async erase(@Param('id', ParseIdPipe) id: number, @Body() body: EraseCustomerDto): Promise<ErasureReport> {
    // Returned for the audit interceptor only: a 204 carries no body.
    return this.erasure.erase(id, body.confirm);
  }
}
