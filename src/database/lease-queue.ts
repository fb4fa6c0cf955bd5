import type { BeforeApplicationShutdown, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DispatchLoop } from '../common/dispatch-loop';
import { afterCommit } from './after-commit';
import type { LeaseStore } from './lease-queue.repository';

/** Where a queued delivery stands: waiting (or being attempted), done (`sent`, `delivered`), or failed for good. */
export type DeliveryStatus<Done extends string> = 'pending' | Done | 'failed';

/**
 * The delivery state of something sent from a queue, the same for an outgoing mail (`outbox`, done
 * when `sent`) and a webhook call (`webhook_deliveries`, done when `delivered`).
 */
export interface DeliveryState<Done extends string> {
  status: DeliveryStatus<Done>;
  /** Attempts so far: each claim counts one. */
  attempts: number;
  /** Why the last attempt failed; null once done. */
  lastError: string | null;
}

/** A row of a lease queue: its delivery state, and when it is attempted next. */
export interface QueuedDelivery<Done extends string> extends DeliveryState<Done> {
  id: string | number;
  nextAttemptAt: Date;
  createdAt: Date;
}

/** Longest wait between two attempts of one row. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

/** Wait before the next attempt: base * 2^(attempts-1), times a 0.5..1.5 jitter, at most one hour. */
export function retryDelayMs(attempts: number, baseMs: number, random: () => number = Math.random): number {
  const exp = Math.min(Math.max(attempts - 1, 0), 40);
  return Math.round(Math.min(baseMs * 2 ** exp * (0.5 + random()), MAX_RETRY_DELAY_MS));
}

/** The outcome of one attempt at a claimed row. */
export interface Attempt {
  ok: boolean;
  /** Not worth attempting again (an SMTP 5xx, an HTTP 4xx other than 408 and 429, a private target). */
  permanent: boolean;
  /** Why it failed (stored as last_error); null when ok. */
  error: string | null;
  /** The values of the table's outcome columns (LeaseTable.outcomeColumns), e.g. the HTTP status. */
  outcome?: readonly unknown[];
  /**
   * Not attempted: the row cannot be sent until something outside it changes (its mailbox waits for
   * re-authorization). It is put back for this many ms, its attempt not counted, never failed.
   */
  waitMs?: number;
}

/** How many attempts a row gets, and the base of the backoff between them. */
export interface RetryPolicy {
  maxAttempts: number;
  retryBaseMs: number;
}

/** What becomes of a row after an attempt. */
export type Settlement = { to: 'done' } | { to: 'failed' } | { to: 'retry'; delayMs: number };

/**
 * Done when the attempt succeeded; failed when it failed for good or was the row's last
 * (`attempts` counts it); else attempted again after the backoff of retryDelayMs.
 */
export function settle(
  attempt: Attempt,
  attempts: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Settlement {
  if (attempt.ok) return { to: 'done' };
  if (attempt.permanent || attempts >= policy.maxAttempts) return { to: 'failed' };
  return { to: 'retry', delayMs: retryDelayMs(attempts, policy.retryBaseMs, random) };
}

export interface LeaseQueueOptions<T> extends RetryPolicy {
  /** What is dispatched, for the log ("outbox", "webhook"). */
  name: string;
  logger: Logger;
  store: LeaseStore<T>;
  /** The polling interval: what another instance queued, or a lease that expired, is found by it. */
  pollMs: number;
  /** Rows claimed at once (and attempted concurrently). */
  batchSize: number;
  /** Debounce of kick() (DispatchLoop's KICK_DELAY_MS by default). */
  kickDelayMs?: number;
  /** Whether the loop starts at bootstrap (config.workers: not in the CLI). */
  autoStart: boolean;
  /** The random source of the backoff's jitter (tests). */
  random?: () => number;
}

/**
 * A dispatcher of a queue table (outgoing mail, outgoing webhooks). A self-rescheduling timer (rounds
 * never overlap: DispatchLoop) claims due rows in one autocommitted statement (`FOR UPDATE SKIP
 * LOCKED` and a lease, so several instances never attempt one row at once and no transaction is held
 * while it is sent), attempts them concurrently, then marks each done, attempts it again after an
 * exponential backoff with jitter, or marks it failed (for good, or its attempts exhausted). A row
 * whose outcome cannot be recorded keeps its lease, and is attempted again once the lease expires.
 * A subclass makes one attempt (`attempt`) and names a row for the log (`describe`).
 */
export abstract class LeaseQueue<T extends QueuedDelivery<string>>
  implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown
{
  protected readonly loop: DispatchLoop;
  protected readonly logger: Logger;
  /** One function, so that a transaction that queues several rows wakes the loop once. */
  private readonly wake = (): void => this.loop.kick();

  constructor(private readonly queue: LeaseQueueOptions<T>) {
    this.logger = queue.logger;
    this.loop = new DispatchLoop({
      name: queue.name,
      pollMs: queue.pollMs,
      kickDelayMs: queue.kickDelayMs,
      logger: queue.logger,
      drain: () => this.drain(),
    });
  }

  /** One attempt at a claimed row (`row.attempts` counts it); a rejection counts as a failure worth retrying. */
  protected abstract attempt(row: T): Promise<Attempt>;

  /** The row as the log names it ("outbox #12 to ada@example.com"). */
  protected abstract describe(row: T): string;

  /** Starts the loop unless this process runs no workers (the CLI). */
  onApplicationBootstrap(): void {
    if (this.queue.autoStart) this.start();
  }

  /** Starts the polling loop (idempotent); the first round runs at once (rows left over from a previous run go out). */
  start(): void {
    this.loop.start();
  }

  /** Stops the loop and waits for the round in progress to finish. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /**
   * The one way to say rows were queued: with the `manager` of a transaction, the loop is woken
   * right after it commits (not at all when it rolls back); without one, or outside a transaction,
   * now. Either way the round starts soon (debounced: work committed together shares one round),
   * after the round in progress when one runs. No-op when stopped.
   */
  kick(manager?: EntityManager): void {
    if (manager) afterCommit(manager, this.wake);
    else this.wake();
  }

  /**
   * Attempts every due row, batch after batch, until none is due; resolves with the number
   * attempted. Calls are serialised. After stop() it claims nothing (resolves 0).
   */
  dispatchOnce(): Promise<number> {
    return this.loop.dispatchOnce();
  }

  private async drain(): Promise<number> {
    const { store, batchSize } = this.queue;
    let total = 0;
    while (!this.loop.isStopped) {
      const rows = await store.claim(batchSize);
      if (rows.length === 0) break;
      await Promise.all(rows.map((row) => this.handle(row)));
      total += rows.length;
      if (rows.length < batchSize) break;
    }
    return total;
  }

  /** Attempts a claimed row and records what becomes of it. */
  private async handle(row: T): Promise<void> {
    const attempt = await this.attempt(row).catch((e: unknown): Attempt => ({
      ok: false,
      permanent: false,
      error: (e as Error)?.message ?? String(e),
    }));
    const next = settle(attempt, row.attempts, this.queue, this.queue.random);
    const { store } = this.queue;
    const logger = this.logger;
    const error = attempt.error ?? '';
    try {
      if (attempt.waitMs !== undefined) {
        await store.release(row.id, attempt.waitMs, error);
      } else if (next.to === 'done') {
        await store.markDone(row.id, attempt.outcome);
      } else if (next.to === 'failed') {
        logger.warn(`${this.describe(row)} failed after ${row.attempts} attempt(s): ${error}`);
        await store.markFailed(row.id, error, attempt.outcome);
      } else {
        logger.warn(`${this.describe(row)} attempt ${row.attempts} failed, retrying in ${next.delayMs} ms: ${error}`);
        await store.retryIn(row.id, next.delayMs, error, attempt.outcome);
        this.loop.wakeIn(next.delayMs);
      }
    } catch (e) {
      // The lease expires by itself; the row is attempted again then.
      logger.error(`${this.describe(row)}: could not record the outcome (${next.to}): ${(e as Error).message}`);
    }
  }
}
