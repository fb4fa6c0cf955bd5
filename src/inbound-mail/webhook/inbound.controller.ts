import { Controller, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOkResponse,
  ApiTooManyRequestsResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiQuery,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiBadRequestResponse,
} from '@nestjs/swagger';
import { Public } from '../../common/auth.decorators';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { InboundMailService } from '../inbound-mail.service';
import { IngestResponseDto } from './inbound.dto';
import { InboundTokenGuard } from './inbound-token.guard';
import { emailsOfBody } from './webhook-body';

const RAW_EXAMPLE =
  'From: Alice <alice@example.com>\r\nTo: support@localhost\r\nSubject: Printer is broken\r\nMessage-ID: <p1@example.com>\r\n\r\nThe printer on floor 3 shows E42.\r\n';

const BODY_DOC = {
  description:
    'One raw RFC 5322 email (`message/rfc822`), or JSON `{ "raw": "<base64>" }`, `{ "raws": ["<base64>"] }`, or the ' +
    'Apps Script batch `{ "messages": [{ "title", "description", "user_email" }] }` (newest first).',
  schema: {
    oneOf: [
      { type: 'string', format: 'binary' },
      { type: 'object', properties: { raw: { type: 'string', format: 'byte' } }, required: ['raw'] },
      {
        type: 'object',
        properties: { raws: { type: 'array', items: { type: 'string', format: 'byte' } } },
        required: ['raws'],
      },
      {
        type: 'object',
        properties: {
          messages: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                title: { type: 'string' },
                description: { type: 'string' },
                user_email: { type: 'string' },
              },
              required: ['title', 'description', 'user_email'],
            },
          },
        },
        required: ['messages'],
      },
    ],
  },
  examples: {
    raw: { summary: 'one raw email, base64', value: { raw: Buffer.from(RAW_EXAMPLE).toString('base64') } },
    appsScript: {
      summary: 'Apps Script batch',
      value: {
        messages: [
          {
            title: 'Printer is broken',
            description: 'The printer on floor 3 shows E42.',
            user_email: 'alice@example.com',
          },
        ],
      },
    },
  },
};

/** The inbound webhook: external scripts and mail providers post mail here. */
@ApiTags('inbound')
@ApiSecurity('inbound')
@ApiQuery({ name: 'token', required: false, description: 'INBOUND_TOKEN, for clients that cannot set headers' })
@ApiUnauthorizedResponse({ description: 'missing or wrong inbound token' })
@ApiBadRequestResponse({ description: 'a body that is none of the accepted shapes' })
@ApiPayloadTooLargeResponse({ description: 'body over INBOUND_MAX_BYTES' })
@ApiServiceUnavailableResponse({
  description:
    'database unavailable, or INBOUND_MAX_IN_FLIGHT / INBOUND_MAX_IN_FLIGHT_BYTES reached: nothing was stored, retry after Retry-After',
})
@ApiTooManyRequestsResponse({
  description:
    'more than WEBHOOK_FAILURE_RATE_LIMIT failed calls (or WEBHOOK_RATE_LIMIT calls, when set) per minute from this address; see Retry-After',
})
@ApiHeader({
  name: 'X-MailDesk-Timestamp',
  required: false,
  description: 'unix seconds; required when INBOUND_HMAC_SECRET is set (at most 5 minutes off)',
})
@ApiHeader({
  name: 'X-MailDesk-Signature',
  required: false,
  description:
    'sha256=<hex HMAC-SHA256(INBOUND_HMAC_SECRET, timestamp + "." + body)>, the body decompressed or, for a compressed call, as sent; required when INBOUND_HMAC_SECRET is set',
})
@Public()
@UseGuards(InboundTokenGuard)
@Controller()
export class InboundController {
  constructor(
    private readonly inbound: InboundMailService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('inbound/mail')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Receive email (raw MIME, base64 JSON or Apps Script batch); answers after commit, one result per email',
  })
  @ApiConsumes('message/rfc822', 'application/json')
  @ApiBody(BODY_DOC)
  @ApiOkResponse({ type: IngestResponseDto })
  receive(@Req() req: { body: unknown }): Promise<IngestResponseDto> {
    return this.ingestAll(req.body);
  }

  @Post('requests/webhook/email')
  @HttpCode(200)
  @ApiOperation({ summary: "Receive the original ServiceDesk's Apps Script batch (same as POST /inbound/mail)" })
  @ApiConsumes('application/json', 'message/rfc822')
  @ApiBody(BODY_DOC)
  @ApiOkResponse({ type: IngestResponseDto })
  receiveLegacy(@Req() req: { body: unknown }): Promise<IngestResponseDto> {
    return this.ingestAll(req.body);
  }

  private async ingestAll(body: unknown): Promise<IngestResponseDto> {
    const emails = emailsOfBody(body, this.config.mail.supportAddress);
    const results = [];
    for (const raw of emails) results.push(await this.inbound.ingest(raw, 'webhook', { handOver: true }));
    return { results };
  }
}
