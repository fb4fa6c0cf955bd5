import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OperatorsModule } from '../operators/operators.module';
import { OutboundMailModule } from '../outbound-mail/outbound-mail.module';
import { RequestsModule } from '../requests/requests.module';
import { Attachment } from './attachment.entity';
import { AttachmentsController } from './attachments.controller';
import { ConversationService } from './conversation.service';
import { Message } from './message.entity';
import { MessagesController } from './messages.controller';
import { MessagesService } from './messages.service';

@Module({
  imports: [TypeOrmModule.forFeature([Message, Attachment]), RequestsModule, OperatorsModule, OutboundMailModule],
  controllers: [MessagesController, AttachmentsController],
  providers: [MessagesService, ConversationService],
  exports: [MessagesService, ConversationService],
})
export class MessagesModule {}
