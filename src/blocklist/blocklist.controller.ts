import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { AdminApi } from '../common/api.decorators';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { type AuthOperator, CurrentOperator } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import {
  BlockedPatternDto,
  BlockedPatternListDto,
  CreateBlockedPatternDto,
  toBlockedPatternResponse,
} from './blocklist.dto';
import { BlocklistService } from './blocklist.service';

/** Blocked senders (admins): their mail is stored as `ignored`, opens no request and is never answered. */
@AdminApi('blocklist')
@Controller('blocklist')
export class BlocklistController {
  constructor(private readonly blocklist: BlocklistService) {}

  @Get()
  @ApiOperation({ summary: 'List blocked addresses and domains' })
  @ApiOkResponse({ type: BlockedPatternListDto })
  async list(): Promise<BlockedPatternListDto> {
    return { items: (await this.blocklist.list()).map(toBlockedPatternResponse) };
  }

  @Post()
  @ApiOperation({ summary: 'Block an address, a domain (@domain) or a domain with its subdomains (*.domain)' })
  @ApiCreatedResponse({ type: BlockedPatternDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Not an address, @domain or *.domain' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The pattern is already blocked' })
  async create(
    @Body() body: CreateBlockedPatternDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<BlockedPatternDto> {
    return toBlockedPatternResponse(await this.blocklist.add(body.pattern, body.reason ?? null, actor.id));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Unblock: remove a pattern' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such entry' })
  async remove(@Param('id', ParseIdPipe) id: number): Promise<void> {
    await this.blocklist.remove(id);
  }
}
