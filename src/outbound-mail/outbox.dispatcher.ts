import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { isEmbeddedDatabase } from '../database/embedded-database';
import { type Attempt, LeaseQueue } from '../database/lease-queue';
import { yieldToApi } from '../runtime/api-activity';
import { type MailboxDirectory, type MailboxRecord, MailboxUnavailableError } from '../mailboxes/mailbox';
import { MailboxDirectoryService } from '../mailboxes/mailbox-directory.service';
import { MailboxLoginRefusedError, MailTransport } from './mail-transport';
import { type OutboxAttachment, toMailOptions } from './outbox-mail-options';
import type { OutboxMail } from './outbox.entity';
import { closeAttachments, OutboxRepository, type OutboxStore } from './outbox.repository';
import { isBlobMissing, isStorageUnavailable } from '../database/database-errors';
import { classifySendError } from './send-error';

/**
 * How long the mail of a mailbox that waits for re-authorization is put back for. A safety net:
 * the mail is due again as soon as the mailbox changes (MailboxDirectory.onChange).
 */
export const MAILBOX_WAIT_MS = 5 * 60_000;

/**
 * Sends what the outbox holds, as a lease queue (database/lease-queue.ts): claims due mail, sends
 * each through MailTransport, then marks it sent (and its conversation message), attempts it again
 * after an exponential backoff (network errors, 4xx) or marks it failed (5xx, or attempts exhausted).
 * Woken when a transaction that queued mail commits (OutboxService.enqueue), and every OUTBOX_POLL_MS.
 */
@Injectable()
export class OutboxDispatcher extends LeaseQueue<OutboxMail> {
  /** The version of every mailbox when last looked at: which ones a change touched. */
  private readonly versions = new Map<number, number>();
  private readonly unsubscribe?: () => void;

  constructor(
    @Inject(OutboxRepository) private readonly outbox: OutboxStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly transport: MailTransport,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional()
    @Inject(MailboxDirectoryService)
    private readonly directory?: Pick<MailboxDirectory, 'all' | 'onChange'>,
  ) {
    super({
      name: 'outbox',
      logger: new Logger(OutboxDispatcher.name),
      store: outbox.leases,
      pollMs: config.outbox.pollMs,
      batchSize: config.outbox.batchSize,
      // An auto-reply goes out on the next turn of the event loop after the transaction that
      // queued it commits, not 20 ms later (docs/performance.md "Mail-to-reply").
      kickDelayMs: 0,
      maxAttempts: config.outbox.maxAttempts,
      retryBaseMs: config.outbox.retryBaseMs,
      autoStart: config.workers,
    });
    this.unsubscribe = directory?.onChange(() => void this.wakeChangedMailboxes());
  }

  /** Stops listening to the mailboxes' changes, then stops the loop. */
  override async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    await super.onModuleDestroy();
  }

  /** Starts the polling loop (idempotent); the first pass runs at once (mail left over from a previous run goes out). */
  override start(): void {
    this.logger.log(
      `dispatching outbound mail through ${this.transport.describe()} every ${this.config.outbox.pollMs} ms`,
    );
    super.start();
  }

  /**
   * Sends one mail through its mailbox's server, with the files of the operator's message it
   * carries. A mailbox waiting for re-authorization: the mail waits (not attempted, not failed),
   * due again in MAILBOX_WAIT_MS or as soon as the mailbox changes (wakeChangedMailboxes). A login
   * the server refused: the mailbox's credentials are told (an OAuth2 token is refreshed), the mail
   * retried after its backoff.
   */
  protected async attempt(row: OutboxMail): Promise<Attempt> {
    // On the embedded database the API and the dispatcher share the CPU too: each mail waits
    // (briefly) for the requests in flight (its lease is minutes long).
    if (await isEmbeddedDatabase(this.dataSource)) await yieldToApi();
    let attachments: OutboxAttachment[];
    try {
      attachments =
        row.attachmentIds !== null
          ? await this.outbox.attachmentsByIds(row.attachmentIds)
          : row.kind === 'operator' && row.messageId !== null
            ? await this.outbox.attachmentsOf(row.messageId)
            : [];
    } catch (e) {
      // The blob store (or the database) is down: the mail waits its backoff, never fails for it.
      // Only here: an SMTP server's ECONNREFUSED below is the send's, classified as such.
      if (isStorageUnavailable(e))
        return { ok: false, permanent: false, error: `waiting for storage: ${(e as Error).message}` };
      // An attachment's bytes lost from the blob store: no retry brings them back; the mail fails with
      // the reason (an admin may restore the object and retry it: POST /outbox/:id/retry).
      if (isBlobMissing(e)) return { ok: false, permanent: true, error: (e as Error).message };
      throw e;
    }
    try {
      await this.transport.send(toMailOptions(row, attachments), row.id, row.mailboxId);
      return { ok: true, permanent: false, error: null };
    } catch (e) {
      if (e instanceof MailboxUnavailableError) {
        return { ok: false, permanent: false, error: `waiting: ${e.message}`, waitMs: MAILBOX_WAIT_MS };
      }
      if (e instanceof MailboxLoginRefusedError) {
        await this.transport.loginRefused(e).catch((err: unknown) => {
          this.logger.warn(`mailbox ${e.mailbox.id}: could not report the refused login: ${(err as Error).message}`);
        });
        const failure = classifySendError(e.cause);
        return { ok: false, permanent: false, error: failure.reason };
      }
      const failure = classifySendError(e);
      return { ok: false, permanent: failure.permanent, error: failure.reason };
    } finally {
      closeAttachments(attachments);
    }
  }

  /** Remembers the mailboxes' versions now, so the first change wakes only the mail of what changed. */
  override onApplicationBootstrap(): void {
    super.onApplicationBootstrap();
    void this.wakeChangedMailboxes(false);
  }

  /**
   * After a change of the mailboxes (any instance's): the pending mail of every mailbox whose row
   * changed and that can send again (re-authorized, re-enabled, new settings) is due now, and the
   * loop woken. `wake` false only remembers the versions.
   */
  private async wakeChangedMailboxes(wake = true): Promise<void> {
    if (!this.directory) return;
    try {
      const changed: MailboxRecord[] = [];
      for (const mailbox of await this.directory.all()) {
        if (this.versions.get(mailbox.id) !== mailbox.version) changed.push(mailbox);
        this.versions.set(mailbox.id, mailbox.version);
      }
      const usable = changed.filter((m) => m.state !== 'needs_reauthorization');
      if (!wake || usable.length === 0) return;
      const ids = usable.filter((m) => !m.isDefault).map((m) => m.id);
      const woken = await this.outbox.wakeMailboxes(
        ids,
        usable.some((m) => m.isDefault),
      );
      if (woken > 0) this.kick();
    } catch (e) {
      this.logger.warn(`could not wake the mail of changed mailboxes: ${(e as Error).message}`);
    }
  }

  protected describe(row: OutboxMail): string {
    return `outbox #${row.id} to ${row.toAddress}`;
  }
}
