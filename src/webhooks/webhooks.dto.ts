import { PageDtoOf } from '../common/pagination';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, IsUrl, MaxLength } from 'class-validator';
import { type WebhookEvent, WEBHOOK_EVENTS } from './webhook-events';
import type { Webhook, WebhookDelivery } from './webhooks.service';

/** Body of `POST /webhooks`. */
export class CreateWebhookDto {
  @ApiProperty({
    example: 'https://chat.example.com/hooks/maildesk',
    description: 'http(s) URL that receives a JSON POST per event.',
    maxLength: 2000,
  })
  @IsString()
  @MaxLength(2000)
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'url must be an http(s) URL' },
  )
  url: string;

  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true, example: ['request.created', 'message.received'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENTS.length)
  @IsIn(WEBHOOK_EVENTS, { each: true, message: `events must be a list of ${WEBHOOK_EVENTS.join(', ')}` })
  events: WebhookEvent[];

  @ApiPropertyOptional({ example: 'Telegram bot of the support team', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

/** The newest delivery of a webhook. */
export class LastDeliveryDto {
  @ApiProperty({ enum: ['pending', 'delivered', 'failed'], example: 'delivered' })
  status: string;

  @ApiProperty({ example: '2025-11-25T10:02:12.000Z', format: 'date-time', description: 'Delivered, else queued.' })
  at: string;

  @ApiProperty({ example: 200, nullable: true, type: Number, description: 'HTTP status of the last attempt.' })
  statusCode: number | null;
}

/** A registered webhook. */
export class WebhookDto {
  @ApiProperty({ example: 1 })
  id: number;

  @ApiProperty({ example: 'https://chat.example.com/hooks/maildesk' })
  url: string;

  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true, example: ['request.created', 'message.received'] })
  events: string[];

  @ApiProperty({ example: 'Telegram bot of the support team', nullable: true, type: String })
  description: string | null;

  @ApiProperty({ example: '2025-11-25T10:00:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: LastDeliveryDto, nullable: true, description: 'null before the first delivery.' })
  lastDelivery: LastDeliveryDto | null;
}

/** `POST /webhooks`: the webhook and its signing secret, shown this once. */
export class CreatedWebhookDto extends WebhookDto {
  @ApiProperty({
    example: 'whsec_5f2b9c0d4e...',
    description: 'HMAC-SHA256 key of X-MailDesk-Signature. Shown only in this answer: store it now.',
  })
  secret: string;
}

/** `GET /webhooks`. */
export class WebhookListDto {
  @ApiProperty({ type: [WebhookDto] })
  items: WebhookDto[];
}

/** One delivery of a webhook and its state. */
export class WebhookDeliveryDto {
  @ApiProperty({ example: 31 })
  id: number;

  @ApiProperty({ enum: WEBHOOK_EVENTS, example: 'request.created' })
  event: string;

  @ApiProperty({
    example: {
      event: 'request.created',
      occurredAt: '2025-11-25T10:00:00.000Z',
      data: { requestId: 42, subject: 'Printer on floor 3 is jammed' },
    },
    description: 'The JSON body posted.',
    type: 'object',
    additionalProperties: true,
  })
  payload: Record<string, unknown>;

  @ApiProperty({ enum: ['pending', 'delivered', 'failed'], example: 'delivered' })
  status: string;

  @ApiProperty({ example: 3 })
  attempts: number;

  @ApiProperty({
    example: '2025-11-25T10:00:05.000Z',
    format: 'date-time',
    description: 'When a pending delivery is tried next.',
  })
  nextAttemptAt: string;

  @ApiProperty({ example: 200, nullable: true, type: Number })
  lastStatusCode: number | null;

  @ApiProperty({ example: null, nullable: true, type: String, description: 'Why the last attempt failed.' })
  lastError: string | null;

  @ApiProperty({ example: '2025-11-25T10:00:05.120Z', nullable: true, type: String, format: 'date-time' })
  deliveredAt: string | null;

  @ApiProperty({ example: '2025-11-25T10:00:00.000Z', format: 'date-time' })
  createdAt: string;
}

/** `GET /webhooks/:id/deliveries`. */
export class WebhookDeliveryPageDto extends PageDtoOf(WebhookDeliveryDto) {}

/** Maps a webhook to its response. */
export function toWebhookResponse(w: Webhook): WebhookDto {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    description: w.description,
    createdAt: w.createdAt.toISOString(),
    lastDelivery: w.lastDelivery
      ? { status: w.lastDelivery.status, at: w.lastDelivery.at.toISOString(), statusCode: w.lastDelivery.statusCode }
      : null,
  };
}

/** Maps a delivery to its response. */
export function toWebhookDeliveryResponse(d: WebhookDelivery): WebhookDeliveryDto {
  return {
    id: d.id,
    event: d.event,
    payload: d.payload as unknown as Record<string, unknown>,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt.toISOString(),
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    createdAt: d.createdAt.toISOString(),
  };
}
