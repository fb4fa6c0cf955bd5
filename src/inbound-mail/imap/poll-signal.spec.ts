import { PollSignal } from './poll-signal';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('PollSignal', () => {
  it('returns at once from wait when a poke came during the previous round', async () => {
    const s = new PollSignal();
    s.poke();
    await expect(s.wait()).resolves.toBeUndefined();
    let woke = false;
    void s.wait().then(() => (woke = true));
    await tick();
    expect(woke).toBe(false);
    s.poke();
    await tick();
    expect(woke).toBe(true);
  });

  it('lets a poke not cut a sleep short, but stop does', async () => {
    const s = new PollSignal();
    let slept = false;
    void s.sleep(10_000).then(() => (slept = true));
    s.poke();
    await tick();
    expect(slept).toBe(false);
    s.stop();
    await tick();
    expect(slept).toBe(true);
    expect(s.isStopped).toBe(true);
  });

  it('ends a sleep after its time', async () => {
    const s = new PollSignal();
    const started = Date.now();
    await s.sleep(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('lets a poke cut a pause short and stay pending for wait', async () => {
    const s = new PollSignal();
    let paused = false;
    void s.pause(10_000).then(() => (paused = true));
    await tick();
    expect(paused).toBe(false);
    expect(s.isPending).toBe(false);
    s.poke();
    await tick();
    expect(paused).toBe(true);
    expect(s.isPending).toBe(true);
    await s.pause(10_000);
    await s.wait();
    expect(s.isPending).toBe(false);
  });

  it('ends a pause after its time when nothing pokes', async () => {
    const s = new PollSignal();
    await s.pause(20);
    expect(s.isPending).toBe(false);
  });
});
