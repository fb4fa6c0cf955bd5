import { jest } from '@jest/globals';
import type { Logger } from '@nestjs/common';
import { DispatchLoop, KICK_DELAY_MS } from './dispatch-loop';

const logger = { warn: jest.fn(), log: jest.fn(), error: jest.fn() } as unknown as Logger;

/** A loop whose rounds are counted and, when `hold` is set, last until released. */
function countingLoop(pollMs = 60_000, kickDelayMs?: number) {
  const state = { rounds: 0, release: null as (() => void) | null, hold: false };
  const loop = new DispatchLoop({
    name: 'test',
    pollMs,
    kickDelayMs,
    logger,
    drain: async () => {
      state.rounds++;
      if (state.hold) await new Promise<void>((r) => (state.release = r));
      return 0;
    },
  });
  return { loop, state };
}

describe('DispatchLoop', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs the first round at once, then every pollMs when nothing wakes it', async () => {
    const { loop, state } = countingLoop(1000);
    loop.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(state.rounds).toBe(1);
    await jest.advanceTimersByTimeAsync(999);
    expect(state.rounds).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(state.rounds).toBe(2);
    await loop.stop();
  });

  it('coalesces the kicks of one moment into one round, KICK_DELAY_MS later', async () => {
    const { loop, state } = countingLoop();
    loop.start();
    await jest.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 5; i++) loop.kick();
    await jest.advanceTimersByTimeAsync(KICK_DELAY_MS - 1);
    expect(state.rounds).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(state.rounds).toBe(2);
    await jest.advanceTimersByTimeAsync(1000);
    expect(state.rounds).toBe(2);
    await loop.stop();
  });

  it('with kickDelayMs 0, starts the round on the next turn, the kicks of one turn sharing it', async () => {
    const { loop, state } = countingLoop(60_000, 0);
    loop.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(state.rounds).toBe(1);
    for (let i = 0; i < 5; i++) loop.kick();
    expect(state.rounds).toBe(1);
    await jest.advanceTimersByTimeAsync(0);
    expect(state.rounds).toBe(2);
    await jest.advanceTimersByTimeAsync(1000);
    expect(state.rounds).toBe(2);
    await loop.stop();
  });

  it('runs one more round after the one in progress, however many kicks came during it', async () => {
    const { loop, state } = countingLoop();
    loop.start();
    state.hold = true;
    await jest.advanceTimersByTimeAsync(0);
    expect(state.rounds).toBe(1);
    loop.kick();
    loop.kick();
    loop.kick();
    state.hold = false;
    state.release!();
    await jest.advanceTimersByTimeAsync(0);
    expect(state.rounds).toBe(2);
    await jest.advanceTimersByTimeAsync(1000);
    expect(state.rounds).toBe(2);
    await loop.stop();
  });

  it('keeps the sooner of two wake-ups', async () => {
    const { loop, state } = countingLoop();
    loop.start();
    await jest.advanceTimersByTimeAsync(0);
    loop.wakeIn(500);
    loop.wakeIn(5000);
    await jest.advanceTimersByTimeAsync(500);
    expect(state.rounds).toBe(2);
    loop.wakeIn(5000);
    loop.wakeIn(100);
    await jest.advanceTimersByTimeAsync(100);
    expect(state.rounds).toBe(3);
    await loop.stop();
  });

  it('serialises dispatchOnce with the round in progress', async () => {
    const { loop, state } = countingLoop();
    state.hold = true;
    const first = loop.dispatchOnce();
    const second = loop.dispatchOnce();
    await jest.advanceTimersByTimeAsync(0);
    expect(state.rounds).toBe(1);
    state.hold = false;
    state.release!();
    await expect(Promise.all([first, second])).resolves.toEqual([0, 0]);
    expect(state.rounds).toBe(2);
  });

  it('stops: waits for the round in progress, and is woken by nothing after', async () => {
    const { loop, state } = countingLoop(1000);
    loop.start();
    state.hold = true;
    await jest.advanceTimersByTimeAsync(0);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    expect(loop.isStopped).toBe(true);
    state.release!();
    await stopping;
    loop.kick();
    loop.wakeIn(0);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(state.rounds).toBe(1);
  });
});
