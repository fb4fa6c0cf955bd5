import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { OperatorApi } from '../common/api.decorators';
import { Roles } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { GroupListDto, GroupNameDto, GroupResponseDto, toGroupResponse, UpdateGroupDto } from './dto/group.dto';
import { GroupsService } from './groups.service';

/** The groups (queues) operators work in: every operator lists them; admins create, rename and delete them. */
@OperatorApi('groups')
@Controller('groups')
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Get()
  @ApiOperation({ summary: 'List the groups (queues), by name' })
  @ApiOkResponse({ type: GroupListDto })
  async list(): Promise<GroupListDto> {
    return { items: (await this.groups.list()).map(toGroupResponse) };
  }

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create a group (admin); operators join it with PATCH /operators/:id { groupIds }' })
  @ApiCreatedResponse({ type: GroupResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid name' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Admins only' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'A group has this name (in any case)' })
  async create(@Body() body: GroupNameDto): Promise<GroupResponseDto> {
    return toGroupResponse(await this.groups.create(body.name));
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({
    summary: 'Rename a group and/or set its automatic assignment (admin)',
    description:
      'assignment: off, round_robin or least_loaded among the members who are available and under their ' +
      'capacity; reassignWhenUnavailable: requests in progress of an operator who becomes unavailable go back ' +
      'to the pool. See docs/assignment.md.',
  })
  @ApiOkResponse({ type: GroupResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid id or fields, or no field to change' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Admins only' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such group' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Another group has this name (in any case)' })
  async update(@Param('id', ParseIdPipe) id: number, @Body() body: UpdateGroupDto): Promise<GroupResponseDto> {
    return toGroupResponse(await this.groups.update(id, body));
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a group no mailbox routes to and no request is in (admin); its operators leave it',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Admins only' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such group' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'A mailbox routes to it or a request is in it' })
  async remove(@Param('id', ParseIdPipe) id: number): Promise<void> {
    await this.groups.remove(id);
  }
}
