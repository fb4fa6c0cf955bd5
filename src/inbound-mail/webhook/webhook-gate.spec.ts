import { loadConfig } from '../../config/config';
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

describe('webhook limits in the configuration', () => {
  it('leaves authenticated callers unthrottled by default, with a failure quota and an in-flight bound', () => {
    const c = loadConfig({});
    expect(c.rateLimit.webhookPerMinute).toBe(0);
    expect(c.rateLimit.webhookFailuresPerMinute).toBe(30);
    expect(c.inbound.maxInFlight).toBe(256);
    expect(c.inbound.maxInFlightBytes).toBe(128 * 1024 * 1024);
    const set = loadConfig({
      WEBHOOK_RATE_LIMIT: '600',
      WEBHOOK_FAILURE_RATE_LIMIT: '0',
      INBOUND_MAX_IN_FLIGHT: '4',
      INBOUND_MAX_IN_FLIGHT_BYTES: '4096',
    });
    expect([set.rateLimit.webhookPerMinute, set.rateLimit.webhookFailuresPerMinute]).toEqual([600, 0]);
    expect([set.inbound.maxInFlight, set.inbound.maxInFlightBytes]).toEqual([4, 4096]);
    expect(() => loadConfig({ INBOUND_MAX_IN_FLIGHT: '0' })).toThrow(/INBOUND_MAX_IN_FLIGHT/);
  });
});
