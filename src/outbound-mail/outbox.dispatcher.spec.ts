import { MAX_RETRY_DELAY_MS, retryDelayMs } from './outbox.dispatcher';

describe('retryDelayMs', () => {
  it('doubles the wait with each attempt', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, 5000, mid))).toEqual([5000, 10000, 20000, 40000]);
  });

  it('spreads the wait from half to one and a half times', () => {
    expect(retryDelayMs(3, 1000, () => 0)).toBe(2000);
    expect(retryDelayMs(3, 1000, () => 0.999999)).toBe(6000);
  });

  it('never waits more than an hour', () => {
    expect(retryDelayMs(30, 5000, () => 0.9)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(1000, 5000, () => 0.9)).toBe(MAX_RETRY_DELAY_MS);
  });
});
