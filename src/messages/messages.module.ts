import { Module } from '@nestjs/common';
import { MultipartModule } from '@nestjs/platform-fastify/multipart';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { OperatorsModule } from '../operators/operators.module';
import { OutboundMailModule } from '../outbound-mail/outbound-mail.module';
import { RequestsModule } from '../requests/requests.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { Attachment } from './attachment.entity';
import { AttachmentsController } from './attachments.controller';
import { ConversationService } from './conversation.service';
import { Message } from './message.entity';
import { MessagesController } from './messages.controller';
import { MessagesService } from './messages.service';
import { NotesController } from './notes.controller';
import { NotesService } from './notes.service';

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
    OperatorsModule,
    OutboundMailModule,
    WebhooksModule,
  ],
  controllers: [MessagesController, AttachmentsController, NotesController],
  providers: [MessagesService, ConversationService, NotesService],
  exports: [MessagesService, ConversationService],
})
export class MessagesModule {}
