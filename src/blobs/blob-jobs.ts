import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { BackgroundRun } from '../runtime/background-run';
import { BlobsRepository } from './blobs.repository';
import { BlobsService } from './blobs.service';

/** The sweeper's period. */
const SWEEP_EVERY_MS = 15 * 60 * 1000;
/** Retention runs once a day. */
const RETENTION_EVERY_MS = 24 * 60 * 60 * 1000;
/** The first runs, a while after the start (not in the rush of a boot). */
const FIRST_RUN_AFTER_MS = 5 * 60 * 1000;
/** inbound_mail rows one retention statement changes at most (short statements, short row locks). */
export const RETENTION_BATCH = 500;

/**
 * The blob store's background jobs, on the server only (not in the CLI): the sweeper (every 15
 * minutes: blobs no row names, past BLOB_SWEEP_GRACE_MINUTES) and retention (once a day:
 * RAW_MAIL_RETENTION_DAYS and QUARANTINE_RETENTION_DAYS, when set). Runs of each never overlap; a
 * failed run is logged and retried the next time. Several instances may run them at once: their
 * batches lock rows with SKIP LOCKED and never wait for each other.
 */
@Injectable()
export class BlobJobs implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(BlobJobs.name);
  private timers: NodeJS.Timeout[] = [];
  private readonly sweepRun = new BackgroundRun(this.logger, {
    done: (n) => `${n} unreferenced blob(s) swept`,
    failed: 'blob sweep failed',
  });
  private readonly retentionRun = new BackgroundRun(this.logger, {
    done: (n) => `${n} inbound mail(s) past RAW_MAIL_RETENTION_DAYS or QUARANTINE_RETENTION_DAYS dropped`,
    failed: 'raw mail retention failed',
  });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly blobs: BlobsService,
    private readonly repository: BlobsRepository,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.workers) return;
    this.every(SWEEP_EVERY_MS, () => void this.sweep());
    if (this.config.retention.rawMailDays > 0 || this.config.retention.quarantineDays > 0)
      this.every(RETENTION_EVERY_MS, () => void this.retention());
  }

  async onModuleDestroy(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    await Promise.all([this.sweepRun.settled(), this.retentionRun.settled()]);
  }

  /** One sweep unless one is running; the blobs deleted. */
  sweep(): Promise<number> {
    return this.sweepRun.tick(() => this.blobs.sweep());
  }

  /** One retention run unless one is running; the inbound_mail rows whose raw mail went. */
  retention(): Promise<number> {
    return this.retentionRun.tick(() => this.applyRetention());
  }

  /**
   * Drops, a batch per statement (each its own short transaction), the raw mail of processed mail
   * received more than RAW_MAIL_RETENTION_DAYS ago (the row stays: its dedupe key keeps a resent
   * copy a duplicate), and deletes quarantined mail received more than QUARANTINE_RETENTION_DAYS
   * ago; the blobs they named are freed at once when nothing else names them.
   */
  async applyRetention(batch = RETENTION_BATCH): Promise<number> {
    const { rawMailDays, quarantineDays } = this.config.retention;
    let total = 0;
    const drain = async (step: () => Promise<{ count: number; hashes: string[] }>) => {
      for (;;) {
        const { count, hashes } = await step();
        total += count;
        if (hashes.length) await this.blobs.deleteUnreferenced(hashes);
        if (count < batch) return;
      }
    };
    if (rawMailDays > 0) await drain(() => this.repository.expireRaw(rawMailDays, batch));
    if (quarantineDays > 0) await drain(() => this.repository.deleteQuarantined(quarantineDays, batch));
    return total;
  }

  private every(ms: number, run: () => void): void {
    const first = setTimeout(run, FIRST_RUN_AFTER_MS);
    const repeat = setInterval(run, ms);
    first.unref();
    repeat.unref();
    this.timers.push(first, repeat);
  }
}
