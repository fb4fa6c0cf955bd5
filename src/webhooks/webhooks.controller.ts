import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { AdminApi } from '../common/api.decorators';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { type AuthOperator, CurrentOperator } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { PageQuery } from '../common/pagination';
import { ParseIdPipe } from '../common/parse-id.pipe';
import {
  CreatedWebhookDto,
  CreateWebhookDto,
  toWebhookDeliveryResponse,
  toWebhookResponse,
  WebhookDeliveryPageDto,
  WebhookListDto,
} from './webhooks.dto';
import { WebhooksService } from './webhooks.service';

/**
 * Outgoing webhooks (admins): a signed JSON POST per event to each registered URL, e.g. a bot
 * posting to a Telegram or Slack channel. Deliveries are retried with backoff and listed with their state.
 */
@AdminApi('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Get()
  @ApiOperation({ summary: 'List webhooks with the state of their newest delivery' })
  @ApiOkResponse({ type: WebhookListDto })
  async list(): Promise<WebhookListDto> {
    return { items: (await this.webhooks.list()).map(toWebhookResponse) };
  }

  @Post()
  @ApiOperation({ summary: 'Register a webhook URL for events; answers its signing secret (shown once)' })
  @ApiCreatedResponse({ type: CreatedWebhookDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Not an http(s) URL, or an unknown event' })
  async create(@Body() body: CreateWebhookDto, @CurrentOperator() actor: AuthOperator): Promise<CreatedWebhookDto> {
    const created = await this.webhooks.create(body, actor.id);
    return { ...toWebhookResponse(created), secret: created.secret };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a webhook and its deliveries' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such webhook' })
  async remove(@Param('id', ParseIdPipe) id: number): Promise<void> {
    await this.webhooks.remove(id);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: "A webhook's deliveries, newest first, with status, attempts and last error" })
  @ApiOkResponse({ type: WebhookDeliveryPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer, or a bad page/limit' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such webhook' })
  async deliveries(@Param('id', ParseIdPipe) id: number, @Query() query: PageQuery): Promise<WebhookDeliveryPageDto> {
    const page = await this.webhooks.deliveries(id, query.page, query.limit);
    return { ...page, items: page.items.map(toWebhookDeliveryResponse) };
  }
}
