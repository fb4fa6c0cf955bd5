import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BlocklistModule } from '../blocklist/blocklist.module';
import { MailboxesModule } from '../mailboxes/mailboxes.module';
import { MessagesModule } from '../messages/messages.module';
import { RequestsModule } from '../requests/requests.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { ImapPollerService } from './imap/imap-poller.service';
import { MailboxRepository } from './imap/mailbox.repository';
import { InboundMail } from './inbound-mail.entity';
import { InboundMailRepository } from './inbound-mail.repository';
import { InboundMailService } from './inbound-mail.service';
import { MailboxCursor } from './mailbox-cursor.entity';
import { ParsePool } from './parser/parse-pool';
import { SmtpListenerService } from './smtp/smtp-listener.service';
import { InboundController } from './webhook/inbound.controller';
import { InboundTokenGuard } from './webhook/inbound-token.guard';
import { QuarantineController } from './webhook/quarantine.controller';

@Module({
  imports: [
    TypeOrmModule.forFeature([InboundMail, MailboxCursor]),
    RequestsModule,
    MessagesModule,
    BlocklistModule,
    WebhooksModule,
    MailboxesModule,
  ],
  controllers: [InboundController, QuarantineController],
  providers: [
    InboundMailRepository,
    MailboxRepository,
    InboundMailService,
    InboundTokenGuard,
    ImapPollerService,
    ParsePool,
    SmtpListenerService,
  ],
  exports: [InboundMailService, ImapPollerService, SmtpListenerService],
})
export class InboundMailModule {}
