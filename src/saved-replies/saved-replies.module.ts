import { Module } from '@nestjs/common';
import { SavedRepliesController } from './saved-replies.controller';
import { SavedRepliesRepository } from './saved-replies.repository';
import { SavedRepliesService } from './saved-replies.service';

/**
 * Saved replies and operators' signatures: `GET/POST /saved-replies`, `PATCH/DELETE /saved-replies/:id`;
 * exports the service the conversation uses to write a reply by id and sign operators' mail.
 */
@Module({
  controllers: [SavedRepliesController],
  providers: [SavedRepliesRepository, SavedRepliesService],
  exports: [SavedRepliesService],
})
export class SavedRepliesModule {}
