import { Module, OnModuleInit } from '@nestjs/common';
import { MultipartModule } from '@nestjs/platform-fastify/multipart';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { OutboundMailModule } from '../outbound-mail/outbound-mail.module';
import { RequestLifecycleService } from '../requests/request-lifecycle.service';
import { RequestsModule } from '../requests/requests.module';
import { SavedRepliesModule } from '../saved-replies/saved-replies.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { MailboxesModule } from '../mailboxes/mailboxes.module';
import { Attachment } from './attachment.entity';
import { AttachmentsController } from './attachments.controller';
import { ConversationService } from './conversation.service';
import { Message } from './message.entity';
import { MessagesController } from './messages.controller';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';
import { NotesController } from './notes.controller';
import { NotesService } from './notes.service';
import { SideThreadsController } from './side-threads.controller';
import { SideThreadsRepository } from './side-threads.repository';
import { SideThreadsService } from './side-threads.service';

@Module({
  imports: [
    // Files an operator attaches (multipart POST /requests/:id/messages): in memory, limited by ATTACHMENT_MAX_BYTES.
    MultipartModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        limits: { fileSize: config.attachments.maxBytes, files: config.attachments.maxFiles, fieldSize: 1024 * 1024 },
        defParamCharset: 'utf8',
      }),
    }),
    TypeOrmModule.forFeature([Message, Attachment]),
    RequestsModule,
    OutboundMailModule,
    WebhooksModule,
    SavedRepliesModule,
    MailboxesModule,
  ],
  controllers: [MessagesController, AttachmentsController, NotesController, SideThreadsController],
  providers: [
    MessagesRepository,
    MessagesService,
    ConversationService,
    NotesService,
    SideThreadsRepository,
    SideThreadsService,
  ],
  exports: [MessagesService, ConversationService, SideThreadsService],
})
export class MessagesModule implements OnModuleInit {
  constructor(
    private readonly lifecycle: RequestLifecycleService,
    private readonly conversation: ConversationService,
  ) {}

  /**
   * Taking and closing a request mails the customer: RequestsModule's lifecycle gets its automatic
   * answers from ConversationService here, since this module depends on RequestsModule and not the
   * other way round (no import cycle, no forwardRef).
   */
  onModuleInit(): void {
    this.lifecycle.useAutoReplies(this.conversation);
  }
}
