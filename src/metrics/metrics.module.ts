import { Global, Module } from '@nestjs/common';
import { InboundMailModule } from '../inbound-mail/inbound-mail.module';
import { OutboundMailModule } from '../outbound-mail/outbound-mail.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** The MetricsService, available everywhere (InboundMailService counts into it). */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class MetricsCoreModule {}

/** `GET /metrics` (Prometheus). */
@Module({
  imports: [InboundMailModule, OutboundMailModule],
  controllers: [MetricsController],
})
export class MetricsModule {}
