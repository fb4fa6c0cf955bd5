import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { isEmbeddedDatabase } from '../database/embedded-database';
import { type Attempt, LeaseQueue } from '../database/lease-queue';
import { yieldToApi } from '../runtime/api-activity';
import { MailTransport } from './mail-transport';
import { toMailOptions } from './outbox-mail-options';
import type { OutboxMail } from './outbox.entity';
import { OutboxRepository, type OutboxStore } from './outbox.repository';
import { classifySendError } from './send-error';

/**
 * Sends what the outbox holds, as a lease queue (database/lease-queue.ts): claims due mail, sends
 * each through MailTransport, then marks it sent (and its conversation message), attempts it again
 * after an exponential backoff (network errors, 4xx) or marks it failed (5xx, or attempts exhausted).
 * Woken when a transaction that queued mail commits (OutboxService.enqueue), and every OUTBOX_POLL_MS.
 */
@Injectable()
export class OutboxDispatcher extends LeaseQueue<OutboxMail> {
  constructor(
    @Inject(OutboxRepository) private readonly outbox: OutboxStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly transport: MailTransport,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    super({
      name: 'outbox',
      logger: new Logger(OutboxDispatcher.name),
      store: outbox.leases,
      pollMs: config.outbox.pollMs,
      batchSize: config.outbox.batchSize,
      maxAttempts: config.outbox.maxAttempts,
      retryBaseMs: config.outbox.retryBaseMs,
      autoStart: config.workers,
    });
  }

  /** Starts the polling loop (idempotent); the first pass runs at once (mail left over from a previous run goes out). */
  override start(): void {
    this.logger.log(
      `dispatching outbound mail through ${this.transport.describe()} every ${this.config.outbox.pollMs} ms`,
    );
    super.start();
  }

  /** Sends one mail, with the files of the operator's message it carries. */
  protected async attempt(row: OutboxMail): Promise<Attempt> {
    // On the embedded database the API and the dispatcher share the CPU too: each mail waits
    // (briefly) for the requests in flight (its lease is minutes long).
    if (await isEmbeddedDatabase(this.dataSource)) await yieldToApi();
    try {
      const attachments =
        row.kind === 'operator' && row.messageId !== null ? await this.outbox.attachmentsOf(row.messageId) : [];
      await this.transport.send(toMailOptions(row, attachments), row.id);
      return { ok: true, permanent: false, error: null };
    } catch (e) {
      const failure = classifySendError(e);
      return { ok: false, permanent: failure.permanent, error: failure.reason };
    }
  }

  protected describe(row: OutboxMail): string {
    return `outbox #${row.id} to ${row.toAddress}`;
  }
}
