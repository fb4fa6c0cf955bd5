import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { OperatorApi } from '../common/api.decorators';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { Roles } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import {
  CreateOperatorDto,
  OperatorListResponseDto,
  OperatorResponseDto,
  toOperatorResponse,
  UpdateOperatorDto,
} from './dto/operator.dto';
import { OperatorsService } from './operators.service';
import { ParseIdPipe } from '../common/parse-id.pipe';

/** Operator accounts: every operator may list them; admins create and change them. */
@OperatorApi('operators')
@Controller('operators')
export class OperatorsController {
  constructor(private readonly operators: OperatorsService) {}

  @Get()
  @ApiOperation({ summary: 'List operators (active and deactivated)' })
  @ApiOkResponse({ type: OperatorListResponseDto })
  async list(): Promise<OperatorListResponseDto> {
    return { items: (await this.operators.list()).map(toOperatorResponse) };
  }

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create an operator (admin)' })
  @ApiCreatedResponse({ type: OperatorResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid fields' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not an admin' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'An operator with this email exists' })
  async create(@Body() body: CreateOperatorDto): Promise<OperatorResponseDto> {
    return toOperatorResponse(await this.operators.create(body));
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'Change an operator: name, role, active, password, groups, signature, capacity (admin)' })
  @ApiOkResponse({ type: OperatorResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid fields or id' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not an admin' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such operator' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The change would leave no active admin' })
  async update(@Param('id', ParseIdPipe) id: number, @Body() body: UpdateOperatorDto): Promise<OperatorResponseDto> {
    return toOperatorResponse(await this.operators.update(id, body));
  }
}
