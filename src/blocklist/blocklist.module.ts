import { Module } from '@nestjs/common';
import { BlocklistController } from './blocklist.controller';
import { BlocklistRepository } from './blocklist.repository';
import { BlocklistService } from './blocklist.service';

/** The sender blocklist: admin API and the check the inbound pipeline runs. */
@Module({
  controllers: [BlocklistController],
  providers: [BlocklistRepository, BlocklistService],
  exports: [BlocklistService],
})
export class BlocklistModule {}
