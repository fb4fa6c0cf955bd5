import { Body, Controller, Param, Put } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { Audited } from '../common/audit.decorators';
import { OperatorApi } from '../common/api.decorators';
import { type AuthOperator, CurrentOperator, Roles } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { AvailabilityDto, OperatorResponseDto, toOperatorResponse } from '../operators/dto/operator.dto';
import { AutoAssignmentService } from './auto-assignment.service';

/**
 * An operator's availability for automatic assignment (docs/assignment.md). Here, not in the
 * operators module, because becoming unavailable hands requests back to the pool, which is the
 * requests module's (it depends on operators, not the other way round).
 */
@OperatorApi('operators')
@ApiBadRequestResponse({ type: ErrorResponseDto, description: 'available is not a boolean, or an invalid id' })
@Controller('operators')
export class AvailabilityController {
  constructor(private readonly assignment: AutoAssignmentService) {}

  @Put('me/availability')
  @Audited({ action: 'operator.availability.update_own' })
  @ApiOperation({
    summary: 'Announce whether you are available for automatic assignment',
    description:
      'Automatic assignment gives requests only to available operators, within their capacity. Becoming ' +
      'unavailable hands your requests in progress back to the pool in the groups set to ' +
      'reassignWhenUnavailable (and in no group with AUTO_REASSIGN_WHEN_UNAVAILABLE).',
  })
  @ApiOkResponse({ type: OperatorResponseDto })
  async setOwn(@Body() body: AvailabilityDto, @CurrentOperator() actor: AuthOperator): Promise<OperatorResponseDto> {
    return toOperatorResponse(await this.assignment.setAvailability(actor, actor.id, body.available));
  }

  @Put(':id/availability')
  @Roles('admin')
  @ApiOperation({ summary: "Set an operator's availability for automatic assignment (admin)" })
  @ApiOkResponse({ type: OperatorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not an admin' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such operator' })
  async set(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: AvailabilityDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<OperatorResponseDto> {
    return toOperatorResponse(await this.assignment.setAvailability(actor, id, body.available));
  }
}
