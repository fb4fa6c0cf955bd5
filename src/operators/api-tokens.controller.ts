import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
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
import { type AuthOperator, CurrentOperator } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { ApiTokensService } from './api-tokens.service';
import {
  ApiTokenListDto,
  CreateApiTokenDto,
  CreatedApiTokenDto,
  ListApiTokensQuery,
  toApiTokenResponse,
  toCreatedApiToken,
} from './dto/api-token.dto';
import { Audited } from '../common/audit.decorators';

const LOGIN_ONLY = 'Called with an API token: managing tokens needs a login session';

/**
 * Personal access tokens (`/auth/tokens`): an operator makes tokens for scripts and tools, sees
 * them (never their secrets) and revokes them; all with a login session, not with a token.
 */
@OperatorApi('auth')
@Controller('auth/tokens')
export class ApiTokensController {
  constructor(private readonly tokens: ApiTokensService) {}

  @Post()
  @ApiOperation({
    summary: 'Make a personal access token (shown once): use it as `Authorization: Bearer <token>`',
    description:
      'Acts as you, with your role and groups at each call, until revoked or expired; a password change or ' +
      "deactivation ends it. Scope 'read' allows GET and HEAD only. At most 50 live tokens per operator.",
  })
  @ApiCreatedResponse({ type: CreatedApiTokenDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid name, scope or expiresAt' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: LOGIN_ONLY })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'You hold 50 live tokens already' })
  async create(@Body() body: CreateApiTokenDto, @CurrentOperator() actor: AuthOperator): Promise<CreatedApiTokenDto> {
    return toCreatedApiToken(await this.tokens.create(actor, body));
  }

  @Get()
  @ApiOperation({ summary: "List your personal access tokens, without secrets (admins: any operator's)" })
  @ApiOkResponse({ type: ApiTokenListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid operatorId' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: `${LOGIN_ONLY}; or another operator's (admins only)` })
  async list(@Query() query: ListApiTokensQuery, @CurrentOperator() actor: AuthOperator): Promise<ApiTokenListDto> {
    return { items: (await this.tokens.list(actor, query.operatorId)).map(toApiTokenResponse) };
  }

  @Delete(':id')
  @Audited({ action: 'api_token.revoke' })
  @HttpCode(204)
  @ApiOperation({ summary: "Revoke a personal access token, at once (yours; admins: anyone's)" })
  @ApiNoContentResponse({ description: 'Revoked: the next call with it answers 401' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: LOGIN_ONLY })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such token of yours (or already revoked)' })
  async revoke(@Param('id', ParseIdPipe) id: number, @CurrentOperator() actor: AuthOperator): Promise<void> {
    await this.tokens.revoke(actor, id);
  }
}
