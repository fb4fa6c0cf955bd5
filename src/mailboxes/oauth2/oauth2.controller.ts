import { Controller, Get, Header, Param, Query, Redirect, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiFoundResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AllowQueryToken, type AuthOperator, CurrentOperator, Public, Roles } from '../../common/auth.decorators';
import { ErrorResponseDto } from '../../common/error.dto';
import { ParseIdPipe } from '../../common/parse-id.pipe';
import { Oauth2AuthorizationService } from './oauth2-authorization.service';
import { oauth2Page } from './oauth2-page';

const CONNECTED_EXAMPLE =
  '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Mailbox connected</title></head><body><h1>Mailbox connected</h1><p>support@example.com is connected through OAuth2.</p></body></html>';

/**
 * OAuth2 of mailboxes (XOAUTH2 for Gmail, Microsoft 365, a generic provider): the admin's start
 * of the authorization-code flow, and the provider's return to MailDesk.
 */
@ApiTags('mailboxes')
@Controller()
export class Oauth2Controller {
  constructor(private readonly authorization: Oauth2AuthorizationService) {}

  @Get('mailboxes/:id/oauth2/authorize')
  @Roles('admin')
  @AllowQueryToken()
  @Redirect()
  @ApiBearerAuth('operator')
  @ApiOperation({
    summary: "Start connecting an OAuth2 mailbox: 302 to the provider's consent page (open it in a browser)",
    description:
      'Authorization code with PKCE (S256); the `state` is bound to this admin and mailbox, usable once within ' +
      '10 minutes. A browser sends no Authorization header: pass the admin token as `?access_token=` instead ' +
      '(accepted on this route only; never logged). The provider returns to GET /oauth2/callback.',
  })
  @ApiQuery({
    name: 'access_token',
    required: false,
    description: "The admin's bearer token, for a browser (instead of the Authorization header)",
  })
  @ApiFoundResponse({ description: "Redirect (Location) to the provider's consent page" })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Missing, invalid or revoked token' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Admins only' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such mailbox' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The mailbox does not use OAuth2, or is disabled' })
  async authorize(
    @Param('id', ParseIdPipe) id: number,
    @CurrentOperator() operator: AuthOperator,
  ): Promise<{ url: string; statusCode: number }> {
    return { url: await this.authorization.start(id, operator.id), statusCode: 302 };
  }

  @Get('oauth2/callback')
  @Public()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  @ApiOperation({
    summary: "The OAuth2 provider's return: stores the mailbox's tokens (public; the state is the proof)",
    security: [],
  })
  @ApiQuery({ name: 'state', required: false, description: 'The state MailDesk sent to the provider' })
  @ApiQuery({ name: 'code', required: false, description: 'The authorization code' })
  @ApiQuery({ name: 'error', required: false, description: "The provider's error (e.g. access_denied)" })
  @ApiQuery({ name: 'error_description', required: false })
  @ApiProduces('text/html')
  @ApiOkResponse({
    description: 'A small page saying the mailbox is connected',
    content: { 'text/html': { schema: { type: 'string', example: CONNECTED_EXAMPLE } } },
  })
  @ApiBadRequestResponse({
    description:
      'Unknown, expired or used state, the provider refused (its `error`), or no refresh token: an HTML page saying so ' +
      '(502 when the provider could not be reached)',
    content: { 'text/html': { schema: { type: 'string', example: '<!DOCTYPE html><html>…Link not valid…</html>' } } },
  })
  async callback(
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<string> {
    const outcome = await this.authorization.complete({
      state: text(query.state),
      code: text(query.code),
      error: text(query.error),
      errorDescription: text(query.error_description),
    });
    if (!outcome.ok) {
      res.status(outcome.status);
      return oauth2Page(outcome.title, outcome.text);
    }
    return oauth2Page(
      'Mailbox connected',
      `${outcome.mailbox.address} is connected through OAuth2. You can close this page.`,
    );
  }
}

/** A query parameter given once, as text; anything else (absent, repeated) is undefined. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
