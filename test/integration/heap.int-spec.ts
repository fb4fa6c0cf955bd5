import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const HEAP = path.resolve('dist/src/runtime/heap.js');

/**
 * A process that keeps ~30 MB alive while replacing it quickly (what a burst of mails does: every
 * mail's objects outlive a few young collections), printing its largest heap in MB. `setup` runs
 * first, as main.ts runs tuneHeap() before it builds the app.
 */
function peakHeapMb(setup: string, nodeFlags: string[] = []): number {
  const program = `${setup}
    const ring = new Array(64); let peak = 0;
    for (let i = 0; i < 1000; i++) {
      const a = []; for (let j = 0; j < 5000; j++) a.push({ j, s: 'x' + j });
      ring[i % 64] = a; peak = Math.max(peak, process.memoryUsage().heapTotal);
    }
    process.stdout.write(String(Math.round(peak / 1048576)));`;
  return Number(execFileSync(process.execPath, [...nodeFlags, '-e', program], { encoding: 'utf8' }));
}

describe('tuneHeap (dist/src/runtime/heap.js)', () => {
  it('keeps the heap near what it holds: a churning 30 MB live set stays well under the heap V8 grows by default', () => {
    const untuned = peakHeapMb('');
    const tuned = peakHeapMb(`require(${JSON.stringify(HEAP)}).tuneHeap([]);`);
    // About 120 MB at 2x against 155-177 MB (V8's own factor; 89 MB at 1.5x, bench/results/history.md, change 22).
    expect(tuned).toBeLessThan(135);
    expect(tuned).toBeLessThan(untuned * 0.8);
  });

  it("leaves node's own --heap-growing-percent alone", () => {
    const setup = `if (require(${JSON.stringify(HEAP)}).tuneHeap(process.execArgv)) throw new Error('overrode the flag');`;
    // V8's default-like growth, given explicitly, stays in force.
    expect(peakHeapMb(setup, ['--heap-growing-percent=300'])).toBeGreaterThan(120);
  });
});
