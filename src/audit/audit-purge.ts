import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { BackgroundRun } from '../runtime/background-run';
import { AuditService } from './audit.service';

/** Once a day. */
const PURGE_EVERY_MS = 24 * 60 * 60 * 1000;
/** The first run, a while after the start (not in the rush of a boot). */
const FIRST_PURGE_AFTER_MS = 5 * 60 * 1000;

/**
 * The audit log's retention (AUDIT_RETENTION_DAYS; nothing when 0): deletes older rows a few
 * minutes after the start and then once a day, in batches (AuditService.purgeExpired), on the
 * server only (not in the CLI). Runs never overlap; a failed run is logged and retried the next
 * day. Several instances may purge at once: they delete the same old rows, and a row is deleted
 * once.
 */
@Injectable()
export class AuditPurge implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditPurge.name);
  private timers: NodeJS.Timeout[] = [];
  private readonly run = new BackgroundRun(this.logger, {
    done: (n) => `${n} audit row(s) past AUDIT_RETENTION_DAYS deleted`,
    failed: 'audit purge failed',
  });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.workers || this.config.audit.retentionDays <= 0) return;
    const first = setTimeout(() => void this.tick(), FIRST_PURGE_AFTER_MS);
    const daily = setInterval(() => void this.tick(), PURGE_EVERY_MS);
    first.unref();
    daily.unref();
    this.timers = [first, daily];
  }

  async onModuleDestroy(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    await this.run.settled();
  }

  /** One purge, unless the previous one is still running; returns the rows deleted. */
  tick(): Promise<number> {
    return this.run.tick(() => this.audit.purgeExpired());
  }
}
