import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { LevelWithSilent } from 'pino';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from './audit/audit.module';
import { BlobsModule } from './blobs/blobs.module';
import { BlocklistModule } from './blocklist/blocklist.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { RateLimitModule } from './common/rate-limit';
import type { AppConfig } from './config/config';
import { AppConfigModule } from './config/config.module';
import { CustomersModule } from './customers/customers.module';
import { EventsModule } from './events/events.module';
import { EMBEDDED_POOL_SIZE, servesPGlite } from './database/embedded-database';
import { dataSourceOptions } from './database/data-source-options';
import { FeedbackModule } from './feedback/feedback.module';
import { GroupsModule } from './groups/groups.module';
import { SavedRepliesModule } from './saved-replies/saved-replies.module';
import { HealthModule } from './health/health.module';
import { InboundMailModule } from './inbound-mail/inbound-mail.module';
import { ProvidersModule } from './inbound-mail/providers/providers.module';
import { SesInboundModule } from './inbound-mail/ses/ses-inbound.module';
import { loggerModule, pinoLevel } from './logging/logger.module';
import { MailboxesModule } from './mailboxes/mailboxes.module';
import { MessagesModule } from './messages/messages.module';
import { MetricsCoreModule, MetricsModule } from './metrics/metrics.module';
import { AuthGuard } from './operators/auth.guard';
import { OperatorsModule } from './operators/operators.module';
import { OutboundMailModule } from './outbound-mail/outbound-mail.module';
import { ReplicasModule } from './replicas/replicas.module';
import { ReportsModule } from './reports/reports.module';
import { RequestScopeGuard } from './requests/request-scope.guard';
import { RequestsModule } from './requests/requests.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  /**
   * The whole application for one validated configuration and one database URL; `logLevel`
   * overrides LOG_LEVEL (tests quieten the logs with it).
   */
  static register(
    config: AppConfig,
    databaseUrl: string,
    logLevel: LevelWithSilent = pinoLevel(config),
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        loggerModule(config, logLevel),
        MetricsCoreModule,
        // One connection on PGlite (EMBEDDED_POOL_SIZE says why), whatever the pool size asked.
        TypeOrmModule.forRootAsync({
          useFactory: async () =>
            dataSourceOptions(
              databaseUrl,
              (await servesPGlite(databaseUrl)) ? EMBEDDED_POOL_SIZE : config.database.poolSize,
              // DATABASE_POOLER and DATABASE_DIRECT_URL apply to DATABASE_URL (docs/pgbouncer.md).
              databaseUrl === config.database.url ? config.database : undefined,
            ),
        }),
        ScheduleModule.forRoot(),
        // First of the features: its global interceptors wrap the audit log's (replicas.module.ts).
        ReplicasModule,
        RateLimitModule,
        BlobsModule,
        MailboxesModule,
        OperatorsModule,
        RequestsModule,
        OutboundMailModule,
        MessagesModule,
        InboundMailModule,
        ProvidersModule,
        SesInboundModule,
        CustomersModule,
        GroupsModule,
        SavedRepliesModule,
        BlocklistModule,
        WebhooksModule,
        ReportsModule,
        EventsModule,
        FeedbackModule,
        HealthModule,
        MetricsModule,
        AuditModule,
      ],
      providers: [
        { provide: APP_GUARD, useClass: AuthGuard },
        // After AuthGuard (global guards run in this order): 404 under /requests/:id outside an operator's groups.
        { provide: APP_GUARD, useClass: RequestScopeGuard },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
    };
  }
}
