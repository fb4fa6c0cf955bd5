import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { runInBackground } from '../database/priority-pool';
import { RequestsService } from './requests.service';

/**
 * Looks for missed SLA targets every SLA_CHECK_SECONDS (not in the CLI) and records each breach
 * once (RequestsService.recordBreaches). Runs never overlap; a failed run is logged and retried
 * at the next tick.
 */
@Injectable()
export class SlaMonitor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SlaMonitor.name);
  private timer: NodeJS.Timeout | undefined;
  private active: Promise<unknown> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly requests: RequestsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.workers) return;
    this.timer = setInterval(() => void this.tick(), this.config.sla.checkSeconds * 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.active?.catch(() => undefined);
  }

  /** One check, unless the previous one is still running; returns the breaches recorded. */
  async tick(): Promise<number> {
    if (this.active) return 0;
    // Background work: the API gets the database's connections first (PriorityPool).
    const run = runInBackground(() => this.requests.recordBreaches()).then(
      (n) => {
        if (n > 0) this.logger.log(`${n} SLA target(s) missed`);
        return n;
      },
      (e: Error) => {
        this.logger.warn(`SLA check failed: ${e.message}`);
        return 0;
      },
    );
    this.active = run;
    try {
      return await run;
    } finally {
      this.active = null;
    }
  }
}
