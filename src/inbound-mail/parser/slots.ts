/**
 * A counting semaphore: at most `size` holders at once, the others wait in arrival order. ParsePool
 * hands a mail to its threads only when one is free, so a mail's deadline runs from the moment a
 * thread takes it, not while it waits behind others.
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  /** Resolves once a slot is held; `release()` it in a `finally`. */
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Gives the slot to the next waiter, or back to the free count. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
