/**
 * The longest an event loop may go without a tick in the tests that show parsing runs off it: the
 * hostile mails they parse took 1-78 s of synchronous work on the loop before; the bound leaves
 * room for a loaded CI machine (garbage collection of a 20 MB buffer, two Jest workers on 2 cores).
 * Latency itself is measured by `npm run bench:hostile`, not here.
 */
export const MAX_LOOP_GAP_MS = 1000;

/** Runs `work` while a 50 ms interval ticks; resolves to its result and the longest gap between ticks. */
export async function withTicks<T>(work: () => Promise<T>): Promise<{ result: T; maxGap: number }> {
  let last = Date.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 50);
  try {
    const result = await work();
    maxGap = Math.max(maxGap, Date.now() - last);
    return { result, maxGap };
  } finally {
    clearInterval(timer);
  }
}
