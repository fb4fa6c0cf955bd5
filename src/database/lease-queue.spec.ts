import { jest } from '@jest/globals';
import type { Logger } from '@nestjs/common';
import { fakeTransaction } from '../../test/fakes/transaction';
import { KICK_DELAY_MS } from '../common/dispatch-loop';
import {
  type Attempt,
  LeaseQueue,
  type LeaseQueueOptions,
  MAX_RETRY_DELAY_MS,
  type QueuedDelivery,
  retryDelayMs,
  settle,
} from './lease-queue';
import type { LeaseStore } from './lease-queue.repository';

describe('retryDelayMs', () => {
  it('doubles the wait with each attempt', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, 5000, mid))).toEqual([5000, 10000, 20000, 40000]);
  });

  it('spreads the wait from half to one and a half times', () => {
    expect(retryDelayMs(3, 1000, () => 0)).toBe(2000);
    expect(retryDelayMs(3, 1000, () => 0.999999)).toBe(6000);
  });

  it('keeps every wait within its jitter bounds and under the ceiling', () => {
    for (let attempts = 1; attempts <= 20; attempts++) {
      const nominal = 1000 * 2 ** (attempts - 1);
      for (const r of [0, 0.1, 0.5, 0.9, 0.999999]) {
        const delay = retryDelayMs(attempts, 1000, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.min(Math.floor(nominal * 0.5), MAX_RETRY_DELAY_MS));
        expect(delay).toBeLessThanOrEqual(Math.min(Math.ceil(nominal * 1.5), MAX_RETRY_DELAY_MS));
      }
    }
  });

  it('never waits more than an hour', () => {
    expect(retryDelayMs(30, 5000, () => 0.9)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(1000, 5000, () => 0.9)).toBe(MAX_RETRY_DELAY_MS);
  });
});

describe('settle', () => {
  const policy = { maxAttempts: 3, retryBaseMs: 1000 };
  const failure: Attempt = { ok: false, permanent: false, error: 'ETIMEDOUT' };

  it('is done when the attempt succeeded, even the last', () => {
    expect(settle({ ok: true, permanent: false, error: null }, 3, policy)).toEqual({ to: 'done' });
  });

  it('fails a permanent failure at its first attempt', () => {
    expect(settle({ ...failure, permanent: true }, 1, policy)).toEqual({ to: 'failed' });
  });

  it('retries a failure after a backoff until the last attempt, then fails it', () => {
    expect(settle(failure, 1, policy, () => 0.5)).toEqual({ to: 'retry', delayMs: 1000 });
    expect(settle(failure, 2, policy, () => 0.5)).toEqual({ to: 'retry', delayMs: 2000 });
    expect(settle(failure, 3, policy)).toEqual({ to: 'failed' });
    expect(settle(failure, 4, policy)).toEqual({ to: 'failed' });
  });
});

/** A queued row of the fake table. */
interface Row extends QueuedDelivery<'sent'> {
  id: number;
  lockedUntil: number | null;
  outcome: readonly unknown[];
}

/** A lease queue table in memory, on its own clock: what the SQL of lease-queue.repository.ts does. */
class MemoryLeaseStore implements LeaseStore<Row> {
  now = 1_000_000;
  rows: Row[] = [];
  claims = 0;
  /** The next outcome written throws (the database is away). */
  failNextWrite = false;

  constructor(private readonly leaseMs = 120_000) {}

  add(count: number): void {
    for (let i = 0; i < count; i++) {
      const id = this.rows.length + 1;
      this.rows.push({
        id,
        status: 'pending',
        attempts: 0,
        lastError: null,
        nextAttemptAt: new Date(this.now),
        createdAt: new Date(this.now),
        lockedUntil: null,
        outcome: [],
      });
    }
  }

  row(id: number): Row {
    return this.rows.find((r) => r.id === id)!;
  }

  claim(limit: number): Promise<Row[]> {
    this.claims++;
    const due = this.rows
      .filter((r) => r.status === 'pending' && r.nextAttemptAt.getTime() <= this.now)
      .filter((r) => r.lockedUntil === null || r.lockedUntil < this.now)
      .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || a.id - b.id)
      .slice(0, limit);
    for (const r of due) {
      r.lockedUntil = this.now + this.leaseMs;
      r.attempts++;
    }
    return Promise.resolve(due.map((r) => ({ ...r })));
  }

  private write(id: number | string, change: Partial<Row>): Promise<void> {
    if (this.failNextWrite) {
      this.failNextWrite = false;
      return Promise.reject(new Error('connection terminated'));
    }
    Object.assign(this.row(Number(id)), { lockedUntil: null }, change);
    return Promise.resolve();
  }

  markDone(id: number | string, outcome: readonly unknown[] = []): Promise<void> {
    return this.write(id, { status: 'sent', lastError: null, outcome });
  }

  markFailed(id: number | string, error: string, outcome: readonly unknown[] = []): Promise<void> {
    return this.write(id, { status: 'failed', lastError: error, outcome });
  }

  retryIn(id: number | string, delayMs: number, error: string, outcome: readonly unknown[] = []): Promise<void> {
    return this.write(id, { nextAttemptAt: new Date(this.now + delayMs), lastError: error, outcome });
  }

  release(id: number | string, delayMs: number, reason: string): Promise<void> {
    const attempts = Math.max(this.row(Number(id)).attempts - 1, 0);
    return this.write(id, { nextAttemptAt: new Date(this.now + delayMs), lastError: reason, attempts });
  }
}

const logger = () => ({ log: jest.fn(), warn: jest.fn(), error: jest.fn() });

/** A queue whose attempts are answered by `answer`. */
class TestQueue extends LeaseQueue<Row> {
  attempted: number[] = [];

  constructor(
    options: Partial<LeaseQueueOptions<Row>> & { store: MemoryLeaseStore },
    private readonly answer: (row: Row) => Attempt | Promise<Attempt>,
  ) {
    super({
      name: 'test',
      logger: logger() as unknown as Logger,
      pollMs: 60_000,
      batchSize: 10,
      maxAttempts: 3,
      retryBaseMs: 1000,
      autoStart: false,
      random: () => 0.5,
      ...options,
    });
  }

  get log(): ReturnType<typeof logger> {
    return this.logger as unknown as ReturnType<typeof logger>;
  }

  protected attempt(row: Row): Promise<Attempt> {
    this.attempted.push(row.id);
    return Promise.resolve(this.answer(row));
  }

  protected describe(row: Row): string {
    return `row #${row.id}`;
  }
}

const sent: Attempt = { ok: true, permanent: false, error: null, outcome: [200] };
const busy: Attempt = { ok: false, permanent: false, error: 'HTTP 503', outcome: [503] };
const refused: Attempt = { ok: false, permanent: true, error: 'HTTP 410', outcome: [410] };

describe('LeaseQueue', () => {
  let store: MemoryLeaseStore;
  beforeEach(() => {
    store = new MemoryLeaseStore();
  });

  it('attempts every due row once and marks it done with its outcome', async () => {
    store.add(3);
    const queue = new TestQueue({ store }, () => sent);
    await expect(queue.dispatchOnce()).resolves.toBe(3);
    expect(store.rows.map((r) => [r.status, r.attempts, r.lockedUntil, r.outcome])).toEqual([
      ['sent', 1, null, [200]],
      ['sent', 1, null, [200]],
      ['sent', 1, null, [200]],
    ]);
    await expect(queue.dispatchOnce()).resolves.toBe(0);
  });

  it('claims batch after batch until one comes back short', async () => {
    store.add(5);
    const queue = new TestQueue({ store, batchSize: 2 }, () => sent);
    await expect(queue.dispatchOnce()).resolves.toBe(5);
    expect(store.claims).toBe(3);
  });

  it('attempts a failed row again after its backoff, and fails it after the last attempt', async () => {
    store.add(1);
    const queue = new TestQueue({ store }, () => busy);
    await queue.dispatchOnce();
    expect(store.row(1)).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 503', lockedUntil: null });
    expect(store.row(1).nextAttemptAt.getTime() - store.now).toBe(1000); // base * 2^0 * (0.5 + 0.5)
    await expect(queue.dispatchOnce()).resolves.toBe(0); // not due yet
    store.now += 1000;
    await queue.dispatchOnce();
    expect(store.row(1).nextAttemptAt.getTime() - store.now).toBe(2000);
    store.now += 2000;
    await queue.dispatchOnce();
    expect(store.row(1)).toMatchObject({ status: 'failed', attempts: 3, lastError: 'HTTP 503', outcome: [503] });
    expect(queue.log.warn).toHaveBeenLastCalledWith('row #1 failed after 3 attempt(s): HTTP 503');
    store.now += MAX_RETRY_DELAY_MS;
    await expect(queue.dispatchOnce()).resolves.toBe(0);
    expect(queue.attempted).toEqual([1, 1, 1]);
  });

  it('puts back a row that must wait, without counting an attempt or failing it, however often', async () => {
    store.add(1);
    const waiting: Attempt = { ok: false, permanent: false, error: 'mailbox 2 is needs reauthorization', waitMs: 5000 };
    const queue = new TestQueue({ store }, () => waiting);
    for (let i = 0; i < 5; i++) {
      await queue.dispatchOnce();
      store.now += 5000;
    }
    expect(queue.attempted).toEqual([1, 1, 1, 1, 1]);
    expect(store.row(1)).toMatchObject({ status: 'pending', attempts: 0, lockedUntil: null, lastError: waiting.error });
  });

  it('fails a permanent failure at once', async () => {
    store.add(1);
    const queue = new TestQueue({ store }, () => refused);
    await queue.dispatchOnce();
    expect(store.row(1)).toMatchObject({ status: 'failed', attempts: 1, lastError: 'HTTP 410' });
  });

  it('retries an attempt that threw, rather than leaving it leased', async () => {
    store.add(1);
    const queue = new TestQueue({ store }, () => Promise.reject(new Error('boom')));
    await queue.dispatchOnce();
    expect(store.row(1)).toMatchObject({ status: 'pending', lastError: 'boom', lockedUntil: null });
  });

  it('leaves a row whose outcome cannot be recorded leased, and attempts it again once the lease expires', async () => {
    store.add(1);
    const queue = new TestQueue({ store }, () => sent);
    store.failNextWrite = true;
    await queue.dispatchOnce();
    expect(store.row(1)).toMatchObject({ status: 'pending', attempts: 1 });
    expect(queue.log.error).toHaveBeenCalledWith('row #1: could not record the outcome (done): connection terminated');
    store.now += 119_000;
    await expect(queue.dispatchOnce()).resolves.toBe(0); // still leased
    store.now += 2_000;
    await expect(queue.dispatchOnce()).resolves.toBe(1);
    expect(store.row(1)).toMatchObject({ status: 'sent', attempts: 2, lockedUntil: null });
  });

  it('never gives one row to two queues at once', async () => {
    store.add(4);
    const answers: Array<() => void> = [];
    const slow = () => new Promise<Attempt>((resolve) => answers.push(() => resolve(sent)));
    const a = new TestQueue({ store, batchSize: 4 }, slow);
    const b = new TestQueue({ store, batchSize: 4 }, slow);
    const rounds = Promise.all([a.dispatchOnce(), b.dispatchOnce()]);
    await new Promise((r) => setImmediate(r));
    answers.forEach((answer) => answer());
    await rounds;
    expect([...a.attempted, ...b.attempted].sort()).toEqual([1, 2, 3, 4]);
  });

  it('claims nothing once stopped', async () => {
    store.add(1);
    const queue = new TestQueue({ store }, () => sent);
    await queue.stop();
    await expect(queue.dispatchOnce()).resolves.toBe(0);
    expect(store.claims).toBe(0);
  });

  describe('kick', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('wakes the queue when the transaction that queued rows commits, once, and not on rollback', async () => {
      const queue = new TestQueue({ store }, () => sent);
      queue.start();
      await jest.advanceTimersByTimeAsync(0);
      expect(store.claims).toBe(1);

      const rolledBack = fakeTransaction();
      queue.kick(rolledBack.manager);
      rolledBack.rollback();
      await jest.advanceTimersByTimeAsync(1000);
      expect(store.claims).toBe(1);

      const tx = fakeTransaction();
      store.add(3);
      for (let i = 0; i < 3; i++) queue.kick(tx.manager);
      await jest.advanceTimersByTimeAsync(1000);
      expect(store.claims).toBe(1);
      tx.commit();
      await jest.advanceTimersByTimeAsync(KICK_DELAY_MS);
      expect(store.claims).toBe(2);
      expect(queue.attempted).toEqual([1, 2, 3]);
      await queue.stop();
    });

    it('wakes the queue soon without a transaction, and when a retry comes due', async () => {
      const queue = new TestQueue({ store }, (row) => (row.attempts === 1 ? busy : sent));
      queue.start();
      await jest.advanceTimersByTimeAsync(0);
      store.add(1);
      queue.kick();
      await jest.advanceTimersByTimeAsync(KICK_DELAY_MS);
      expect(queue.attempted).toEqual([1]);
      store.now += 1000;
      await jest.advanceTimersByTimeAsync(1000);
      expect(queue.attempted).toEqual([1, 1]);
      expect(store.row(1).status).toBe('sent');
      await queue.stop();
    });
  });
});
