import { Body, Controller, Get, Param, Patch, Query } from '@nestjs/common';
import { OperatorApi } from '../common/api.decorators';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { type AuthOperator, CurrentOperator, Roles } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import {
  CustomerDetailDto,
  CustomerPageDto,
  ListCustomersQuery,
  toCustomerDetail,
  toCustomerResponse,
  UpdateCustomerDto,
} from './customers.dto';
import { CustomersService } from './customers.service';
import { ReadsFromReplica } from '../replicas/reads-from-replica.decorator';

/** Customers: every operator searches and reads them; admins rename and block them. */
@OperatorApi('customers')
@Controller('customers')
export class CustomersController {
  constructor(private readonly customers: CustomersService) {}

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
}
