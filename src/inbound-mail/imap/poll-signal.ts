/**
 * Wakes the poller's single loop: `poke()` (new mail, the polling interval, a closed connection)
 * makes the next or current `wait()` return; a poke during a round is remembered, so the loop runs
 * once more instead of missing mail, and runs never overlap. `stop()` ends every wait and sleep.
 */
export class PollSignal {
  private pending = false;
  private stopped = false;
  private wakers = new Set<(isStop: boolean) => void>();

  get isStopped(): boolean {
    return this.stopped;
  }

  /** A poke came that no wait() has taken yet. */
  get isPending(): boolean {
    return this.pending;
  }

  poke(): void {
    this.pending = true;
    this.wakeAll(false);
  }

  stop(): void {
    this.stopped = true;
    this.wakeAll(true);
  }

  /** Until a poke (one already pending returns at once) or stop; clears the pending poke. */
  async wait(): Promise<void> {
    if (!this.pending && !this.stopped) await this.park(undefined, false);
    this.pending = false;
  }

  /** Up to `ms` milliseconds, cut short by a poke or stop; a poke stays pending for wait(). */
  async pause(ms: number): Promise<void> {
    if (!this.pending && !this.stopped) await this.park(ms, false);
  }

  /** `ms` milliseconds, cut short only by stop (backoff, waiting for leadership). */
  async sleep(ms: number): Promise<void> {
    if (!this.stopped) await this.park(ms, true);
  }

  private park(ms: number | undefined, stopOnly: boolean): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => done(true), ms);
      const done = (isStopOrTimer: boolean): void => {
        if (stopOnly && !isStopOrTimer) return;
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      this.wakers.add(done);
    });
  }

  private wakeAll(isStop: boolean): void {
    for (const wake of [...this.wakers]) wake(isStop);
  }
}
