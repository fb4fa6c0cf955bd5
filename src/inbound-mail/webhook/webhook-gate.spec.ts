import { FixedWindowCounter } from '../../common/rate-limit';
import { InFlightLimiter } from './webhook-gate';

describe('InFlightLimiter', () => {
  it('admits up to maxCalls calls and maxBytes bytes, always one call alone, and frees them once', () => {
    const limiter = new InFlightLimiter(2, 100);
    const big = limiter.tryAcquire(500);
    expect(big).not.toBeNull();
    expect(limiter.tryAcquire(1)).toBeNull();
    big!.release();
    big!.release();
    expect(limiter.usage).toEqual({ calls: 0, bytes: 0 });

    const a = limiter.tryAcquire(60)!;
    expect(limiter.tryAcquire(50)).toBeNull();
    const b = limiter.tryAcquire(40)!;
    expect(limiter.tryAcquire(0)).toBeNull();
    a.resize(10);
    expect(limiter.usage).toEqual({ calls: 2, bytes: 50 });
    a.release();
    const c = limiter.tryAcquire(50)!;
    expect(c).not.toBeNull();
    b.release();
    c.release();
    c.resize(1000);
    expect(limiter.usage).toEqual({ calls: 0, bytes: 0 });
  });
});

describe('FixedWindowCounter.peek', () => {
  it('reports the wait once the limit is used up, without counting', () => {
    const counter = new FixedWindowCounter();
    expect(counter.peek('k', 2, 0)).toBe(0);
    counter.hit('k', 2, 60_000, 0);
    expect(counter.peek('k', 2, 1000)).toBe(0);
    counter.hit('k', 2, 60_000, 1000);
    expect(counter.peek('k', 2, 1000)).toBe(59);
    expect(counter.peek('k', 2, 1000)).toBe(59);
    expect(counter.peek('k', 2, 60_000)).toBe(0);
  });
});
