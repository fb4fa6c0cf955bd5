import { apiRequestsInFlight, apiRequestStarted, yieldToApi } from './api-activity';

describe('yieldToApi', () => {
  it('resolves at once when no request is in flight', async () => {
    const t0 = Date.now();
    await yieldToApi(1000);
    expect(Date.now() - t0).toBeLessThan(50);
  });

  it('waits until the requests in flight end, and counts an end once', async () => {
    const endA = apiRequestStarted();
    const endB = apiRequestStarted();
    expect(apiRequestsInFlight()).toBe(2);
    let resolved = false;
    const waiting = yieldToApi(5000).then(() => (resolved = true));
    endA();
    endA();
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    expect(apiRequestsInFlight()).toBe(1);
    endB();
    await waiting;
    expect(apiRequestsInFlight()).toBe(0);
  });

  it('gives up after maxMs: background work slows down, never stops', async () => {
    const end = apiRequestStarted();
    try {
      const t0 = Date.now();
      await yieldToApi(60);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    } finally {
      end();
    }
  });
});
