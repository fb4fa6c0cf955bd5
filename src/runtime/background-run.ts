import type { Logger } from '@nestjs/common';
import { runInBackground } from '../database/priority-pool';

/**
 * One run at a time of a periodic background job that counts what it did (the SLA check, the
 * audit purge): a tick while the previous run is still going does nothing; the run yields the
 * database to the API (runInBackground, PriorityPool); its count is logged when not zero and a
 * failure is logged as a warning, never thrown (the next tick tries again).
 */
export class BackgroundRun {
  private active: Promise<number> | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly messages: { done: (n: number) => string; failed: string },
  ) {}

  /** Runs `work` unless a run is active; resolves with its count (0 when skipped or failed). */
  async tick(work: () => Promise<number>): Promise<number> {
    if (this.active) return 0;
    const run = runInBackground(work).then(
      (n) => {
        if (n > 0) this.logger.log(this.messages.done(n));
        return n;
      },
      (e: Error) => {
        this.logger.warn(`${this.messages.failed}: ${e.message}`);
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

  /** Waits for the active run, if any, to end (at shutdown). */
  async settled(): Promise<void> {
    await this.active;
  }
}
