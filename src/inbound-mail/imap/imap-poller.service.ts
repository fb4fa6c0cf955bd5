import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import type { ImapFlow } from 'imapflow';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { isEmbeddedDatabase } from '../../database/embedded-database';
import { runInBackground } from '../../database/priority-pool';
import { yieldToApi } from '../../runtime/api-activity';
import { InboundMailService } from '../inbound-mail.service';
import { EMBEDDED_IMPORT_CONCURRENCY, IMPORT_CONCURRENCY, runImportRound } from './imap-import-round';
import { ImapTarget, parseImapUrl } from './imap-url';
import { MailboxCursorStore } from './mailbox-cursor.store';
import { createLeaderLock, LeaderLock } from './mailbox-leader-lock';
import { MailboxRepository, type MailboxStore } from './mailbox.repository';
import { PollSignal } from './poll-signal';

/** TCP + TLS handshake budget. */
export const IMAP_CONNECTION_TIMEOUT_MS = 15_000;
/** Wait for the server's greeting. */
export const IMAP_GREETING_TIMEOUT_MS = 15_000;
/** A silent socket is dead after this; IDLE is restarted more often (IMAP_IDLE_RESTART_MS). */
export const IMAP_SOCKET_TIMEOUT_MS = 5 * 60_000;
export const IMAP_IDLE_RESTART_MS = 4 * 60_000;
/** LOGOUT at shutdown; the socket is closed if the server does not answer in time. */
export const IMAP_LOGOUT_TIMEOUT_MS = 5_000;
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;

/** Reconnect delay after the n-th failure in a row (n >= 1): 1 s doubling up to 60 s. */
export function backoffDelay(failures: number): number {
  return Math.min(BACKOFF_FIRST_MS * 2 ** Math.max(0, failures - 1), BACKOFF_MAX_MS);
}

/** What the health endpoint reports about IMAP. */
export interface ImapPollerStatus {
  /** False when IMAP_URL is not set. */
  enabled: boolean;
  /** This instance holds the mailbox's leader lock and imports from it. */
  leader: boolean;
  lastSuccessAt: Date | null;
  /** The latest failure, while no round has succeeded since (null once one has). */
  lastError: string | null;
  lastErrorAt: Date | null;
  /** Messages above the cursor at the last look (null when not known, e.g. on a non-leader). */
  backlog: number | null;
}

/**
 * Imports mail from the IMAP_URL mailbox into InboundMailService: one leader per mailbox across
 * instances (PostgreSQL advisory lock; an in-process lock on the embedded database, see
 * createLeaderLock), UIDVALIDITY + last-UID cursor, IDLE for push plus a polling
 * interval from @nestjs/schedule, reconnect with exponential backoff. Runs in the background from
 * bootstrap; shutdown finishes the current message, releases the lock and logs out.
 */
@Injectable()
export class ImapPollerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ImapPollerService.name);
  private readonly target: ImapTarget | null;
  private readonly signal = new PollSignal();
  private readonly intervalName: string;
  private cursor: MailboxCursorStore | null = null;
  private lock: LeaderLock | null = null;
  private loop: Promise<void> | null = null;
  private connecting: ImapFlow | null = null;
  private readonly state: Omit<ImapPollerStatus, 'enabled'> = {
    leader: false,
    lastSuccessAt: null,
    lastError: null,
    lastErrorAt: null,
    backlog: null,
  };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly inbound: InboundMailService,
    private readonly scheduler: SchedulerRegistry,
    @Inject(MailboxRepository) private readonly mailboxes: MailboxStore,
  ) {
    this.target = config.imap.url ? parseImapUrl(config.imap.url) : null;
    this.intervalName = `imap-poll ${this.target?.key ?? ''}`;
  }

  /** Starts the loop in the background when IMAP_URL is set; never delays bootstrap. */
  onApplicationBootstrap(): void {
    if (!this.target || !this.config.workers) return;
    this.cursor = new MailboxCursorStore(this.mailboxes, this.target.key);
    this.scheduler.addInterval(
      this.intervalName,
      setInterval(() => this.signal.poke(), this.config.imap.pollSeconds * 1000),
    );
    this.logger.log(
      `IMAP polling ${this.target.key} (every ${this.config.imap.pollSeconds} s, IDLE ${this.config.imap.idle ? 'on' : 'off'})`,
    );
    // Background work, the import included: the API gets the database's connections first (PriorityPool).
    this.loop = runInBackground(() => this.run()).catch((e) =>
      this.logger.error(`IMAP poller stopped: ${describeError(e)}`),
    );
  }

  /** Finishes the current message, releases the leader lock and logs out. */
  async onModuleDestroy(): Promise<void> {
    if (!this.loop) return;
    this.signal.stop();
    if (this.scheduler.doesExist('interval', this.intervalName)) this.scheduler.deleteInterval(this.intervalName);
    this.connecting?.close();
    await this.loop;
    this.loop = null;
  }

  /** For the health endpoint. */
  status(): ImapPollerStatus {
    return { enabled: this.target !== null, ...this.state };
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.signal.isStopped) {
      try {
        // Which lock depends on the database (asked of it; a failure is retried like any other).
        this.lock ??= await createLeaderLock(this.dataSource, this.target!.key);
        if (await this.lock.tryAcquire()) {
          this.state.leader = true;
          this.logger.log(`leading ${this.target!.key}`);
          await this.lead(() => (failures = 0));
        } else {
          this.state.leader = false;
          await this.refreshFromCursor();
          await this.signal.sleep(this.config.imap.pollSeconds * 1000);
        }
      } catch (e) {
        if (this.signal.isStopped) break;
        failures++;
        const delay = backoffDelay(failures);
        const message = describeError(e);
        this.logger.warn(`IMAP ${this.target!.key}: ${message}; retrying in ${delay / 1000} s`);
        await this.recordError(message);
        await this.signal.sleep(delay);
      } finally {
        this.state.leader = false;
        await this.lock?.release();
      }
    }
  }

  /** One IMAP session while leading: returns at shutdown, throws on any failure. */
  private async lead(onSuccess: () => void): Promise<void> {
    const target = this.target!;
    const client = await this.createClient(target);
    client.on('error', (e: Error) => this.logger.debug(`IMAP client error: ${describeError(e)}`));
    client.on('exists', () => this.signal.poke());
    client.on('close', () => this.signal.poke());
    this.connecting = client;
    try {
      await client.connect();
      this.connecting = null;
      this.signal.poke();
      while (true) {
        await this.signal.wait();
        if (this.signal.isStopped) return;
        if (!client.usable) throw new Error('IMAP connection closed');
        await this.lock!.confirm();
        const started = Date.now();
        const embedded = await isEmbeddedDatabase(this.dataSource);
        const round = await runImportRound(client, {
          concurrency: embedded ? EMBEDDED_IMPORT_CONCURRENCY : IMPORT_CONCURRENCY,
          mailbox: target.mailbox,
          cursor: this.cursor!,
          ingest: async (raw) => {
            // On the embedded database the API and the import share the CPU too: each mail waits
            // (briefly) for the requests in flight.
            if (embedded) await yieldToApi();
            return this.inbound.ingest(raw, 'imap');
          },
          moveTo: this.config.imap.moveTo,
          shouldStop: () => this.signal.isStopped,
          onBacklog: (n) => (this.state.backlog = n),
          onUidValidityChange: (from, to) =>
            this.logger.warn(`UIDVALIDITY of ${target.key} changed from ${from} to ${to}: rescanning the mailbox`),
        });
        if (round.imported) {
          const ms = Math.max(1, Date.now() - started);
          this.logger.log(`imported ${round.imported} message(s) from ${target.key} in ${ms} ms`);
        }
        await this.recordSuccess();
        onSuccess();
        if (this.config.imap.idle && !this.signal.isStopped && client.usable) {
          // Resolves when the next command breaks it; the `exists` event pokes the loop.
          client.idle().catch(() => undefined);
        }
      }
    } finally {
      this.connecting = null;
      await logoutQuietly(client);
    }
  }

  /** imapflow is loaded here, not at start: a server without IMAP_URL never needs it. */
  private async createClient(t: ImapTarget): Promise<ImapFlow> {
    const { ImapFlow } = await import('imapflow');
    return new ImapFlow({
      host: t.host,
      port: t.port,
      secure: t.secure,
      auth: { user: t.user, pass: t.password },
      tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2' },
      logger: false,
      disableAutoIdle: true,
      maxIdleTime: IMAP_IDLE_RESTART_MS,
      connectionTimeout: IMAP_CONNECTION_TIMEOUT_MS,
      greetingTimeout: IMAP_GREETING_TIMEOUT_MS,
      socketTimeout: IMAP_SOCKET_TIMEOUT_MS,
    });
  }

  private async recordSuccess(): Promise<void> {
    const at = new Date();
    this.state.lastSuccessAt = at;
    this.state.lastError = null;
    this.state.lastErrorAt = null;
    await this.cursor!.recordSuccess(at);
  }

  private async recordError(message: string): Promise<void> {
    const at = new Date();
    this.state.lastError = message;
    this.state.lastErrorAt = at;
    await this.cursor!.recordError(message, at).catch((e) =>
      this.logger.debug(`could not record the IMAP error: ${describeError(e)}`),
    );
  }

  /** A non-leader reports what the leader last wrote. */
  private async refreshFromCursor(): Promise<void> {
    const row = await this.cursor!.read();
    this.state.backlog = null;
    this.state.lastSuccessAt = row?.lastSuccessAt ?? null;
    const failing = row?.lastErrorAt && (!row.lastSuccessAt || row.lastErrorAt > row.lastSuccessAt);
    this.state.lastError = failing ? row.lastError : null;
    this.state.lastErrorAt = failing ? row.lastErrorAt : null;
  }
}

/** A one-line description, with the server's answer and code when imapflow has them. */
function describeError(e: unknown): string {
  const err = e as Error & { code?: string; responseText?: string };
  return [err.code, err.message, err.responseText].filter(Boolean).join(': ') || String(e);
}

async function logoutQuietly(client: ImapFlow): Promise<void> {
  if (client.usable) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.logout().catch(() => undefined),
      new Promise((r) => (timer = setTimeout(r, IMAP_LOGOUT_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }
  client.close();
}
