import * as v8 from 'node:v8';

/**
 * How far V8 lets the heap grow past what the last full collection kept: 2x. V8's own factor
 * adapts to allocation speed and reached 4x during a webhook burst (20,000 mails, 32 at a time):
 * the old space grew to 120 MB around 55 MB of live objects and the process to 300-320 MB. At 1.5x
 * it peaked at 195-200 MB, at 2x at 230-234 MB; but under queue reads (3,000 calls/s) 1.5x meant a
 * full collection every 1.6 s, 8.5-11 ms each, and 2x took a quarter off the p99 of `GET /requests`
 * (docs/performance.md, "The V8 heap's growing factor"). A `--heap-growing-percent` given to node
 * itself wins.
 */
export const HEAP_GROWING_PERCENT = 100;

/**
 * Applies HEAP_GROWING_PERCENT unless node was started with its own. Called first thing in main()
 * and in the CLI's entry, before the app is built: the modules are loaded by then, which is fine,
 * as V8 reads the factor at every full collection.
 */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
