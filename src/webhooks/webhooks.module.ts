import { Module } from '@nestjs/common';
import { WebhookDispatcher } from './webhook.dispatcher';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/** Outgoing webhooks: other modules queue events in their transaction through WebhooksService. */
@Module({
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhooksRepository, WebhookDispatcher],
  exports: [WebhooksService],
})
export class WebhooksModule {}
