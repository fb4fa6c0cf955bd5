import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuditController } from './audit.controller';
import { AuditInterceptor } from './audit.interceptor';
import { AuditPurge } from './audit-purge';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';

/**
 * The audit log (audit_log): the global interceptor that records every change operators make
 * through the API, GET /audit for admins, the retention job. AuditService is exported for the CLI.
 */
@Module({
  controllers: [AuditController],
  providers: [
    AuditRepository,
    AuditService,
    AuditPurge,
    // Global: every controller of every module, including routes added later, passes through it.
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  ],
  exports: [AuditService],
})
export class AuditModule {}
