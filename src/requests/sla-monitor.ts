import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { BackgroundRun } from '../runtime/background-run';
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
  private readonly run = new BackgroundRun(this.logger, {
    done: (n) => `${n} SLA target(s) missed`,
    failed: 'SLA check failed',
  });

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
    await this.run.settled();
  }

  /** One check, unless the previous one is still running; returns the breaches recorded. */
  tick(): Promise<number> {
    return this.run.tick(() => this.requests.recordBreaches());
  }
}
