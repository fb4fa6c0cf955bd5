import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { DispatchLoop } from '../common/dispatch-loop';
import { APP_CONFIG } from '../config/config.module';
import { MailTransport } from './mail-transport';
import { OutboxAttachment, outboxFromRow, toMailOptions } from './outbox-mail-options';
import { OutboxMail } from './outbox.entity';
import { isEmbeddedDatabase } from '../database/embedded-database';
import { yieldToApi } from '../runtime/api-activity';
import { classifySendError } from './send-error';

/** Longest wait between two attempts of one mail. */
export const MAX_RETRY_DELAY_MS = 3_600_000;
/** How long a claimed row stays invisible to other dispatchers while it is being sent. */
export const CLAIM_LOCK = '2 minutes';

/** Wait before the next attempt: base * 2^(attempts-1), times a 0.5..1.5 jitter, at most one hour. */
export function retryDelayMs(attempts: number, baseMs: number, random: () => number = Math.random): number {
  const exp = Math.min(Math.max(attempts - 1, 0), 40);
  return Math.round(Math.min(baseMs * 2 ** exp * (0.5 + random()), MAX_RETRY_DELAY_MS));
}

/**
 * Sends what the outbox holds. A self-rescheduling timer (never overlapping) claims due rows in one
 * autocommitted statement (`FOR UPDATE SKIP LOCKED` + a short lease in locked_until, so several
 * instances never send a row twice and no transaction is held during SMTP), sends them, then
 * marks each sent (and its conversation message), reschedules it with exponential backoff
 * (network errors, 4xx) or marks it failed (5xx, or attempts exhausted).
 */
@Injectable()
export class OutboxDispatcher implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxDispatcher.name);
  private readonly loop: DispatchLoop;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly transport: MailTransport,
  ) {
    this.loop = new DispatchLoop({
      name: 'outbox',
      pollMs: config.outbox.pollMs,
      logger: this.logger,
      drain: () => this.drain(),
    });
  }

  /** Starts the loop (not in the CLI); the first pass runs at once (mail left over from a previous run goes out). */
  onApplicationBootstrap(): void {
    if (this.config.workers) this.start();
  }

  /** Starts the polling loop (idempotent). */
  start(): void {
    this.logger.log(
      `dispatching outbound mail through ${this.transport.describe()} every ${this.config.outbox.pollMs} ms`,
    );
    this.loop.start();
  }

  /** Stops the loop and waits for the dispatch in progress to finish. */
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
   * Asks for a dispatch soon (debounced), e.g. right after a transaction that enqueued mail
   * committed. Runs after the current dispatch when one is in progress; no-op when stopped.
   */
  kick(): void {
    this.loop.kick();
  }

  /**
   * Sends every due mail, batch after batch, until none is due; resolves with the number of
   * mails attempted. Calls are serialised. After stop() it claims nothing (resolves 0).
   */
  dispatchOnce(): Promise<number> {
    return this.loop.dispatchOnce();
  }

  private async drain(): Promise<number> {
    const batchSize = this.config.outbox.batchSize;
    let total = 0;
    while (!this.loop.isStopped) {
      const rows = await this.claim(batchSize);
      if (rows.length === 0) break;
      // On the embedded database the API and the dispatcher share the CPU too: each mail waits
      // (briefly) for the requests in flight (its lease is minutes long).
      const embedded = await isEmbeddedDatabase(this.dataSource);
      await Promise.all(
        rows.map(async (row) => {
          if (embedded) await yieldToApi();
          await this.deliver(row);
        }),
      );
      total += rows.length;
      if (rows.length < batchSize) break;
    }
    return total;
  }

  /** Leases up to `limit` due rows and counts the attempt, in one autocommitted statement. */
  private async claim(limit: number): Promise<OutboxMail[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `WITH claimed AS (
         UPDATE outbox SET locked_until = now() + interval '${CLAIM_LOCK}', attempts = attempts + 1
          WHERE id IN (SELECT id FROM outbox
                        WHERE status = 'pending' AND next_attempt_at <= now()
                          AND (locked_until IS NULL OR locked_until < now())
                        ORDER BY next_attempt_at, id
                        LIMIT $1
                        FOR UPDATE SKIP LOCKED)
          RETURNING *)
       SELECT * FROM claimed ORDER BY next_attempt_at, id`,
      [limit],
    );
    return rows.map(outboxFromRow);
  }

  private async deliver(row: OutboxMail): Promise<void> {
    let sent = false;
    let failure: ReturnType<typeof classifySendError> | undefined;
    try {
      await this.transport.send(toMailOptions(row, await this.attachmentsOf(row)), row.id);
      sent = true;
    } catch (e) {
      failure = classifySendError(e);
    }
    try {
      if (sent) {
        await this.markSent(row);
      } else if (failure!.permanent || row.attempts >= this.config.outbox.maxAttempts) {
        this.logger.warn(
          `outbox #${row.id} to ${row.toAddress} failed after ${row.attempts} attempt(s): ${failure!.reason}`,
        );
        await this.dataSource.query(
          `UPDATE outbox SET status = 'failed', locked_until = NULL, last_error = $2 WHERE id = $1`,
          [row.id, failure!.reason],
        );
      } else {
        const delay = retryDelayMs(row.attempts, this.config.outbox.retryBaseMs);
        this.logger.warn(
          `outbox #${row.id} attempt ${row.attempts} failed, retrying in ${delay} ms: ${failure!.reason}`,
        );
        await this.dataSource.query(
          `UPDATE outbox SET next_attempt_at = now() + $2 * interval '1 millisecond', locked_until = NULL, last_error = $3
            WHERE id = $1`,
          [row.id, delay, failure!.reason],
        );
        this.loop.wakeIn(delay);
      }
    } catch (e) {
      // The lease expires by itself; the row is attempted again then.
      this.logger.error(`outbox #${row.id}: could not record the outcome (sent=${sent}): ${(e as Error).message}`);
    }
  }

  /** The files of an operator's message (the outbox row carries them by its messages.id). */
  private async attachmentsOf(row: OutboxMail): Promise<OutboxAttachment[]> {
    if (row.kind !== 'operator' || row.messageId === null) return [];
    const rows: Array<{ filename: string; content_type: string; content: Buffer }> = await this.dataSource.query(
      `SELECT filename, content_type, content FROM attachments WHERE message_id = $1 ORDER BY id`,
      [row.messageId],
    );
    return rows.map((a) => ({ filename: a.filename, contentType: a.content_type, content: a.content }));
  }

  /** The row is sent; so is the conversation message it carried. */
  private async markSent(row: OutboxMail): Promise<void> {
    await this.dataSource.query(
      `WITH o AS (
         UPDATE outbox SET status = 'sent', sent_at = now(), locked_until = NULL, last_error = NULL
          WHERE id = $1 RETURNING message_id)
       UPDATE messages m SET sent_at = now() FROM o WHERE m.id = o.message_id AND m.sent_at IS NULL`,
      [row.id],
    );
  }
}
