import { Module } from '@nestjs/common';
import { InboundMailModule } from '../inbound-mail/inbound-mail.module';
import { OutboundMailModule } from '../outbound-mail/outbound-mail.module';
import { HealthController } from './health.controller';
import { HealthRepository } from './health.repository';
import { HealthService } from './health.service';

/** `GET /health/live` and `GET /health/ready`. */
@Module({
  imports: [InboundMailModule, OutboundMailModule],
  controllers: [HealthController],
  providers: [HealthRepository, HealthService],
  exports: [HealthService],
})
export class HealthModule {}
