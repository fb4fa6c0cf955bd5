import { Global, Module } from '@nestjs/common';
import { InboundMailModule } from '../inbound-mail/inbound-mail.module';
import { OutboundMailModule } from '../outbound-mail/outbound-mail.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { PoolWaitMetrics } from './pool-wait-metrics';

/** The MetricsService, available everywhere (InboundMailService counts into it). */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class MetricsCoreModule {}

/** `GET /metrics` (Prometheus), and the pool's connection waits it reports (PoolWaitMetrics). */
@Module({
  imports: [InboundMailModule, OutboundMailModule],
  controllers: [MetricsController],
  providers: [PoolWaitMetrics],
})
export class MetricsModule {}
