import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiForbiddenResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Public } from '../../common/auth.decorators';
import { SesInboundService } from './ses-inbound.service';
import { SesAnswerDto } from './ses.dto';

const EXAMPLE = {
  Type: 'Notification',
  MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
  TopicArn: 'arn:aws:sns:us-east-1:123456789012:maildesk-inbound',
  Subject: 'Amazon SES Email Receipt Notification',
  Message:
    '{"notificationType":"Received","mail":{"source":"alice@example.com","destination":["support@example.com"]},"receipt":{"recipients":["support@example.com"],"action":{"type":"SNS","topicArn":"arn:aws:sns:us-east-1:123456789012:maildesk-inbound","encoding":"BASE64"}},"content":"RnJvbTogYWxpY2VAZXhhbXBsZS5jb20NClN1YmplY3Q6IEhlbGxvDQoNCkhpDQo="}',
  Timestamp: '2026-12-07T09:00:00.000Z',
  SignatureVersion: '2',
  Signature: 'EXAMPLE...base64...',
  SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem',
};

/**
 * Amazon SES receipts through an SNS HTTPS subscription. No token: SNS cannot send one; every
 * message is authenticated by its SNS signature (SesInboundService) before it is acted on.
 */
@ApiTags('inbound')
@Public()
@Controller()
export class SesInboundController {
  constructor(private readonly ses: SesInboundService) {}

  @Post('inbound/ses')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Receive Amazon SES mail through SNS (signature v1/v2 verified; subscriptions confirmed for SES_SNS_TOPIC_ARNS only); answers after commit',
    security: [],
  })
  @ApiConsumes('text/plain', 'application/json')
  @ApiHeader({ name: 'x-amz-sns-message-type', required: false, description: 'set by SNS; the body decides' })
  @ApiBody({
    description: 'One Amazon SNS message as SNS posts it (JSON, Content-Type text/plain), at most 576 KiB',
    schema: { type: 'object', example: EXAMPLE },
  })
  @ApiOkResponse({ type: SesAnswerDto })
  @ApiBadRequestResponse({ description: 'not an SNS message, or a Notification that is not an SES receipt' })
  @ApiForbiddenResponse({
    description:
      'topic not in SES_SNS_TOPIC_ARNS, SignatureVersion other than 1 or 2, certificate or SubscribeURL not on an SNS host, stale Timestamp, or a signature that does not verify (SNS does not retry 4xx)',
  })
  @ApiPayloadTooLargeResponse({ description: 'body over 576 KiB (SNS messages are at most 256 KiB)' })
  @ApiServiceUnavailableResponse({
    description:
      'the database, the SNS certificate or the SubscribeURL is unreachable: nothing was stored; SNS retries',
  })
  receive(@Req() req: { body: unknown }): Promise<SesAnswerDto> {
    return this.ses.receive(req.body);
  }
}
