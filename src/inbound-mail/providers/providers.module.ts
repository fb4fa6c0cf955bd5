import { Module } from '@nestjs/common';
import { InboundMailModule } from '../inbound-mail.module';
import { ProviderReplayRepository } from './provider-replay.repository';
import { ProvidersController, ProviderTokenGuard } from './providers.controller';
import { ProviderInboundService } from './providers.service';

/** The mail providers' inbound webhooks (Mailgun, SendGrid, Postmark), feeding the one ingest pipeline. */
@Module({
  imports: [InboundMailModule],
  controllers: [ProvidersController],
  providers: [ProviderInboundService, ProviderReplayRepository, ProviderTokenGuard],
})
export class ProvidersModule {}
