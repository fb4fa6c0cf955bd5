/**
 * A weighted semaphore over bytes (or any unit: ParsePool counts mails, one each): holders together hold at most `budget` bytes, and one holder
 * always gets in when nobody else holds any (a mail larger than the budget still goes through, on
 * its own). Waiters are served in arrival order, so a large one is not starved by small ones.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; resolve: () => void }> = [];

  constructor(private readonly budget: number) {}

  /** Bytes held now. */
  get held(): number {
    return this.used;
  }

  /** Resolves once `bytes` are held; `release(bytes)` them in a `finally`. */
  acquire(bytes: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.used += bytes;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push({ bytes, resolve }));
  }

  /** Gives `bytes` back and lets in the waiters that now fit, in order. */
  release(bytes: number): void {
    this.used -= bytes;
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.resolve();
    }
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.budget;
  }
}
