import { Module } from '@nestjs/common';
import { MailboxesModule } from '../mailboxes/mailboxes.module';
import { MailTransport } from './mail-transport';
import { OutboxController } from './outbox.controller';
import { OutboxDispatcher } from './outbox.dispatcher';
import { OutboxRepository } from './outbox.repository';
import { OutboxService } from './outbox.service';
import { TemplatesService } from './templates.service';

/**
 * Outbound mail: other modules enqueue mail in their own transaction through OutboxService
 * (and render auto-replies with TemplatesService); the dispatcher sends it through MailTransport.
 */
@Module({
  imports: [MailboxesModule],
  controllers: [OutboxController],
  providers: [OutboxService, TemplatesService, OutboxRepository, OutboxDispatcher, MailTransport],
  exports: [OutboxService, TemplatesService],
})
export class OutboundMailModule {}
