import { Module } from '@nestjs/common';
import { InboundMailModule } from '../inbound-mail.module';
import { SesInboundController } from './ses-inbound.controller';
import { SesInboundService } from './ses-inbound.service';

/** POST /inbound/ses: Amazon SES receipts through SNS, into the one ingest pipeline. */
@Module({
  imports: [InboundMailModule],
  controllers: [SesInboundController],
  providers: [SesInboundService],
})
export class SesInboundModule {}
