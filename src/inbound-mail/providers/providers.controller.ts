import {
  CanActivate,
  Controller,
  ExecutionContext,
  ForbiddenException,
  HttpCode,
  HttpException,
  Inject,
  Injectable,
  NotAcceptableException,
  Post,
  Req,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiForbiddenResponse,
  ApiNotAcceptableResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { readBody } from '../../common/body-parsers';
import { Public } from '../../common/auth.decorators';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { IngestResponseDto } from '../webhook/inbound.dto';
import { PROVIDER_TOKEN_REQUIRED, providerBodyLimit, providerTokenValid } from './provider-gate';
import { type FormLimits, parseProviderForm, parseProviderJson, type ProviderForm } from './provider-form';
import { ProviderInboundService } from './providers.service';

/** SendGrid's and Postmark's token, checked again here (the gate checked it before the body was read). */
@Injectable()
export class ProviderTokenGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    if (!providerTokenValid(req.headers, req.query, this.config.inbound.token))
      throw new UnauthorizedException(PROVIDER_TOKEN_REQUIRED);
    return true;
  }
}

/** The answers that mean "this call will never be accepted": a provider that retries should not. */
const PERMANENT = new Set([400, 401, 403, 404, 413, 415, 422]);

/** `error` as `status` (Mailgun's 406, Postmark's 403) where it is permanent; anything else as it is. */
function permanentAs(error: unknown, make: (message: string) => HttpException): unknown {
  if (error instanceof HttpException && PERMANENT.has(error.getStatus())) {
    const body = error.getResponse();
    const message = typeof body === 'object' && body && 'message' in body ? String(body.message) : error.message;
    return make(message);
  }
  return error;
}

const FORM_BODY = {
  description:
    "The provider's form fields (multipart/form-data with files, or urlencoded), as the provider documents them",
  schema: { type: 'object', additionalProperties: { type: 'string' } },
};

/** The mail providers' inbound webhooks: each call's mail goes through the one ingest pipeline. */
@ApiTags('inbound')
@ApiOkResponse({
  type: IngestResponseDto,
  description: 'stored (created, appended, duplicate, ignored or quarantined), after commit',
})
@ApiPayloadTooLargeResponse({ description: 'body over INBOUND_MAX_BYTES (plus framing)' })
@ApiServiceUnavailableResponse({
  description: 'database unavailable, or the webhook in-flight bound reached: nothing was stored, the provider retries',
})
@ApiTooManyRequestsResponse({
  description: 'WEBHOOK_RATE_LIMIT or WEBHOOK_FAILURE_RATE_LIMIT reached for this address',
})
@Public()
@Controller('inbound')
export class ProvidersController {
  constructor(
    private readonly providers: ProviderInboundService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('mailgun')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Mailgun route forward (body-mime or parsed fields), verified with MAILGUN_SIGNING_KEY; 406 where Mailgun must not retry',
    // Mailgun's signature travels in the form (timestamp, token, signature), not in a header.
    security: [],
  })
  @ApiConsumes('multipart/form-data', 'application/x-www-form-urlencoded')
  @ApiBody(FORM_BODY)
  @ApiNotAcceptableResponse({
    description:
      'signature forged, stale (timestamp over 5 minutes off) or replayed, or a call that holds no acceptable mail',
  })
  async mailgun(@Req() req: FastifyRequest): Promise<IngestResponseDto> {
    try {
      const form = await this.form(req, 'utf8');
      return await this.providers.receiveMailgun(form);
    } catch (e) {
      throw permanentAs(e, (m) => new NotAcceptableException(m));
    }
  }

  @Post('sendgrid')
  @HttpCode(200)
  @UseGuards(ProviderTokenGuard)
  @ApiOperation({
    summary: 'SendGrid Inbound Parse (raw `email`, or the parsed fields); ?token= or Basic auth',
    security: [{ inbound: [] }],
  })
  @ApiConsumes('multipart/form-data', 'application/x-www-form-urlencoded')
  @ApiBody(FORM_BODY)
  @ApiQuery({ name: 'token', required: false, description: 'INBOUND_TOKEN (or Basic auth with it as the password)' })
  @ApiUnauthorizedResponse({ description: 'missing or wrong inbound token (refused before the body is read)' })
  async sendgrid(@Req() req: FastifyRequest): Promise<IngestResponseDto> {
    return this.providers.receiveSendgrid(await this.form(req, 'latin1'));
  }

  @Post('postmark')
  @HttpCode(200)
  @UseGuards(ProviderTokenGuard)
  @ApiOperation({
    summary:
      "Postmark's inbound JSON (RawEmail, or its fields); ?token= or Basic auth; 403 where Postmark must not retry",
    security: [{ inbound: [] }],
  })
  @ApiConsumes('application/json')
  @ApiBody({ description: "Postmark's inbound webhook JSON", schema: { type: 'object' } })
  @ApiQuery({ name: 'token', required: false, description: 'INBOUND_TOKEN (or Basic auth with it as the password)' })
  @ApiUnauthorizedResponse({ description: 'missing or wrong inbound token (refused before the body is read)' })
  @ApiForbiddenResponse({
    description: 'a body that will never be accepted (malformed, too large): Postmark stops retrying',
  })
  async postmark(@Req() req: FastifyRequest): Promise<IngestResponseDto> {
    try {
      const body = await readBody(req.raw, providerBodyLimit(this.config));
      return await this.providers.receivePostmark(parseProviderJson(body, req.headers['content-type']));
    } catch (e) {
      throw permanentAs(e, (m) => new ForbiddenException(m));
    }
  }

  /** The call's form, read (bounded) and parsed (bounded). */
  private async form(req: FastifyRequest, charset: FormLimits['charset']): Promise<ProviderForm> {
    const limit = providerBodyLimit(this.config);
    const body = await readBody(req.raw, limit);
    return parseProviderForm(body, req.headers['content-type'], {
      maxFields: 200,
      maxFiles: 100,
      maxFieldBytes: limit,
      maxFileBytes: this.config.mail.maxInboundBytes,
      charset,
    });
  }
}
