import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MailTransport } from './mail-transport';
import { OutboxKickSubscriber } from './outbox-kick.subscriber';
import { OutboxController } from './outbox.controller';
import { OutboxDispatcher } from './outbox.dispatcher';
import { OutboxMail } from './outbox.entity';
import { OutboxService } from './outbox.service';
import { TemplatesService } from './templates.service';

/**
 * Outbound mail: other modules enqueue mail in their own transaction through OutboxService
 * (and render auto-replies with TemplatesService); the dispatcher sends it through MailTransport.
 */
@Module({
  imports: [TypeOrmModule.forFeature([OutboxMail])],
  controllers: [OutboxController],
  providers: [OutboxService, TemplatesService, OutboxDispatcher, MailTransport, OutboxKickSubscriber],
  exports: [OutboxService, TemplatesService],
})
export class OutboundMailModule {}
