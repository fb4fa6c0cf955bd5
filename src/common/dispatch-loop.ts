import { Logger } from '@nestjs/common';
import { runInBackground } from '../database/priority-pool';

/** Debounce of kick() by default: work committed within this window shares one round. */
export const KICK_DELAY_MS = 20;

export interface DispatchLoopOptions {
  /** What is dispatched, for the log ("outbox", "webhook"). */
  name: string;
  /** The polling interval between rounds when nothing wakes the loop earlier. */
  pollMs: number;
  /**
   * Debounce of kick() (KICK_DELAY_MS by default). 0: the round starts on the next turn of the
   * event loop; kicks of the same turn, and those during a round (one more round after it), still
   * share one.
   */
  kickDelayMs?: number;
  logger: Logger;
  /** One round: claims and handles due work until none is left; resolves with how many items it attempted. */
  drain: () => Promise<number>;
}

/**
 * The scheduling half of a dispatcher (outgoing mail, outgoing webhooks): a self-rescheduling
 * timer whose rounds never overlap, a debounced kick() for "work was just committed", wake-ups
 * for retries that come due, and a stop() that waits for the round in progress.
 */
export class DispatchLoop {
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = Infinity;
  private running = false;
  private stopped = false;
  private active: Promise<number> | null = null;
  private rerun = false;

  constructor(private readonly options: DispatchLoopOptions) {}

  /** True once stop() was called: a round in progress should claim nothing more. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Starts the timer (idempotent); the first round runs at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.wakeIn(0);
  }

  /** Stops the timer and waits for the round in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueAt = Infinity;
    await this.active?.catch(() => 0);
  }

  /** Asks for a round soon (debounced); after the current one when one runs. No-op when stopped. */
  kick(): void {
    if (!this.running) return;
    if (this.active) {
      this.rerun = true;
      return;
    }
    this.wakeIn(this.options.kickDelayMs ?? KICK_DELAY_MS);
  }

  /**
   * Runs a round now and resolves with the number of items attempted. Calls are serialised: one
   * waits for the round in progress, then runs. After stop() a round claims nothing.
   */
  dispatchOnce(): Promise<number> {
    if (this.active) return this.active.catch(() => 0).then(() => this.dispatchOnce());
    // Background work: the API gets the database's connections first (PriorityPool).
    const run = runInBackground(() => this.options.drain()).finally(() => {
      this.active = null;
      if (this.rerun) {
        this.rerun = false;
        this.wakeIn(0);
      }
    });
    this.active = run;
    return run;
  }

  /** Runs a round in `ms` unless one is already due sooner (e.g. when a retry comes due). */
  wakeIn(ms: number): void {
    if (!this.running) return;
    const at = Date.now() + ms;
    if (this.timer && this.timerDueAt <= at) return;
    clearTimeout(this.timer);
    this.timerDueAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDueAt = Infinity;
      void this.tick();
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.dispatchOnce();
    } catch (e) {
      this.options.logger.warn(`${this.options.name} dispatch failed: ${(e as Error).message}`);
    } finally {
      this.wakeIn(this.options.pollMs);
    }
  }
}
