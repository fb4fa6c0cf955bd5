import { Logger } from '@nestjs/common';
import type { ImapFlow } from 'imapflow';
import {
  type MailboxCredentials,
  type MailboxRecord,
  type MailLogin,
  MailboxUnavailableError,
} from '../../mailboxes/mailbox';
import type { IngestResult } from '../ingest-result';
import { runImportRound } from './imap-import-round';
import type { ImapLocation } from './imap-url';
import type { MailboxCursorStore } from './mailbox-cursor.store';
import { LeadershipLostError } from './mailbox-leader-lock';
import { PollSignal } from './poll-signal';

/** TCP + TLS handshake budget. */
export const IMAP_CONNECTION_TIMEOUT_MS = 15_000;
/** Wait for the server's greeting. */
export const IMAP_GREETING_TIMEOUT_MS = 15_000;
/** A silent socket is dead after this; IDLE is restarted more often (IMAP_IDLE_RESTART_MS). */
export const IMAP_SOCKET_TIMEOUT_MS = 5 * 60_000;
export const IMAP_IDLE_RESTART_MS = 4 * 60_000;
/**
 * After a round that imported mail, the session asks with a NOOP every IMAP_LINGER_POLL_MS for
 * IMAP_LINGER_MS before it goes back to IDLE: mail often comes in bursts, and Dovecot tells an
 * idling session of new mail only 0.5 s after it sees it (a fixed delay, not a setting), where a
 * command's answer tells at once (docs/performance.md "Mail-to-reply"). At most ten NOOPs a
 * second, only while mail keeps coming.
 */
export const IMAP_LINGER_MS = 1_000;
export const IMAP_LINGER_POLL_MS = 100;
/** LOGOUT at shutdown; the socket is closed if the server does not answer in time. */
export const IMAP_LOGOUT_TIMEOUT_MS = 5_000;
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;

/** Reconnect delay after the n-th failure in a row (n >= 1): 1 s doubling up to 60 s. */
export function backoffDelay(failures: number): number {
  return Math.min(BACKOFF_FIRST_MS * 2 ** Math.max(0, failures - 1), BACKOFF_MAX_MS);
}

/** What a poller knows of its mailbox's import, for health and metrics. */
export interface PollerState {
  lastSuccessAt: Date | null;
  /** The latest failure, while no round has succeeded since (null once one has). */
  lastError: string | null;
  lastErrorAt: Date | null;
  /** Messages above the cursor at the last look (null when not known). */
  backlog: number | null;
}

/** Where a poller writes its state, so every instance (and GET /mailboxes) sees it. */
export interface PollerReport {
  /** A round succeeded: the mailbox is `active` again. */
  succeeded(mailbox: MailboxRecord, at: Date, backlog: number | null): Promise<void>;
  /** A round failed: the mailbox is in `error` until one succeeds. */
  failed(mailbox: MailboxRecord, error: string, at: Date, backlog: number | null): Promise<void>;
}

/** Why a poller's loop ended. */
export type PollerOutcome =
  /** stop() was called. */
  | 'stopped'
  /** The credentials say the mailbox cannot be used until an admin acts (MailboxUnavailableError). */
  | 'unavailable'
  /** This instance may no longer lead the mailbox. */
  | 'lost';

/** What one mailbox's poller needs. */
export interface MailboxPollerOptions {
  /** The mailbox's row (replaced by `update`). */
  mailbox: MailboxRecord;
  location: ImapLocation;
  cursor: MailboxCursorStore;
  credentials: MailboxCredentials;
  report: PollerReport;
  /** Throws LeadershipLostError when this instance may no longer lead the mailbox (before each round). */
  confirmLeadership: () => Promise<void>;
  /** Ingests one raw mail as this mailbox's (yielding to the API on the embedded database). */
  ingest: (raw: Buffer) => Promise<IngestResult>;
  /** Messages ingested at once. */
  concurrency: number;
  moveTo: string | undefined;
  idle: boolean;
  /** IMAP_NOOP_MS: a NOOP every that many ms between rounds instead of IDLE (0: IDLE as `idle` says). */
  noopMs?: number;
}

/**
 * Imports one mailbox while this instance leads it: one IMAP session logged in through
 * MailboxCredentials (password or OAuth2 access token), the UIDVALIDITY + last-UID cursor, IDLE for
 * push (after a second of NOOPs when a round imported mail: IMAP_LINGER_MS) plus `poke()` from the
 * supervisor's polling interval, reconnect with exponential backoff. A
 * login the server refuses is reported to the credentials (`loginRefused`) before the backoff; a
 * mailbox the credentials call unavailable (needs re-authorization) ends the loop. `stop()`
 * finishes the current message and logs out.
 */
export class MailboxPoller {
  private readonly logger: Logger;
  private readonly signal = new PollSignal();
  private loop: Promise<PollerOutcome> | null = null;
  private connecting: ImapFlow | null = null;
  readonly state: PollerState;

  constructor(private readonly o: MailboxPollerOptions) {
    this.logger = new Logger(`MailboxPoller ${o.mailbox.id}`);
    const m = o.mailbox;
    const failing = m.lastErrorAt && (!m.lastSuccessAt || m.lastErrorAt > m.lastSuccessAt);
    this.state = {
      lastSuccessAt: m.lastSuccessAt,
      lastError: failing ? m.lastError : null,
      lastErrorAt: failing ? m.lastErrorAt : null,
      backlog: m.backlog,
    };
  }

  get mailbox(): MailboxRecord {
    return this.o.mailbox;
  }

  /**
   * The mailbox's row as the directory has it now (same login settings: a change of those restarts
   * the poller instead); the next login and report use it.
   */
  update(mailbox: MailboxRecord): void {
    this.o.mailbox = mailbox;
  }

  /** Starts the loop; resolves when it ends, with why. */
  start(): Promise<PollerOutcome> {
    this.loop ??= this.run();
    return this.loop;
  }

  /** Runs a round soon (the polling interval; a round in progress runs once more). */
  poke(): void {
    this.signal.poke();
  }

  /** Finishes the current message and logs out. */
  async stop(): Promise<void> {
    this.signal.stop();
    this.connecting?.close();
    await this.loop;
  }

  private async run(): Promise<PollerOutcome> {
    const key = this.o.location.key;
    let failures = 0;
    while (!this.signal.isStopped) {
      try {
        await this.session(failures > 0, () => (failures = 0));
      } catch (e) {
        if (this.signal.isStopped) break;
        if (e instanceof LeadershipLostError) return 'lost';
        if (e instanceof MailboxUnavailableError) {
          this.logger.warn(`IMAP ${key}: ${e.message}; polling stops until it is active again`);
          return 'unavailable';
        }
        failures++;
        const message = describeImapError(e);
        if (isAuthenticationFailure(e)) await this.refused(e as Error);
        const delay = backoffDelay(failures);
        this.logger.warn(`IMAP ${key}: ${message}; retrying in ${delay / 1000} s`);
        await this.recordError(message);
        await this.signal.sleep(delay);
      }
    }
    return 'stopped';
  }

  /**
   * One IMAP session: returns at stop, throws on any failure. `afterFailure`: the previous session
   * failed, so its first round probes with one message before going concurrent.
   */
  private async session(afterFailure: boolean, onSuccess: () => void): Promise<void> {
    const { location, mailbox } = this.o;
    const login = await this.o.credentials.login(mailbox, 'imap');
    if (this.signal.isStopped) return;
    const client = await createClient(location, login);
    client.on('error', (e: Error) => this.logger.debug(`IMAP client error: ${describeImapError(e)}`));
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
        await this.o.confirmLeadership();
        const started = Date.now();
        const round = await runImportRound(client, {
          concurrency: this.o.concurrency,
          probeFirst: afterFailure,
          mailbox: location.mailbox,
          cursor: this.o.cursor,
          ingest: this.o.ingest,
          moveTo: this.o.moveTo,
          shouldStop: () => this.signal.isStopped,
          onBacklog: (n) => (this.state.backlog = n),
          onUidValidityChange: (from, to) =>
            this.logger.warn(`UIDVALIDITY of ${location.key} changed from ${from} to ${to}: rescanning the mailbox`),
        });
        if (round.imported) {
          const ms = Math.max(1, Date.now() - started);
          this.logger.log(`imported ${round.imported} message(s) from ${location.key} in ${ms} ms`);
        }
        await this.recordSuccess();
        onSuccess();
        afterFailure = false;
        if (this.o.noopMs) {
          // Asked, not told: until new mail (an EXISTS in a NOOP's answer pokes), a poll or stop.
          await this.askUntilPoked(client, this.o.noopMs, Infinity);
          continue;
        }
        if (round.imported) await this.askUntilPoked(client, IMAP_LINGER_POLL_MS, IMAP_LINGER_MS);
        if (this.o.idle && !this.signal.isStopped && !this.signal.isPending && client.usable) {
          // Resolves when the next command breaks it; the `exists` event pokes the loop.
          client.idle().catch(() => undefined);
        }
      }
    } finally {
      this.connecting = null;
      await logoutQuietly(client);
    }
  }

  /**
   * A NOOP every `everyMs` for `forMs` (new mail's EXISTS in an answer pokes the loop), until a
   * poke or stop: the linger after an import (IMAP_LINGER_MS), or IMAP_NOOP_MS's polling for good.
   */
  private async askUntilPoked(client: ImapFlow, everyMs: number, forMs: number): Promise<void> {
    const until = Date.now() + forMs;
    while (Date.now() < until && client.usable) {
      await this.signal.pause(everyMs);
      if (this.signal.isPending || this.signal.isStopped || !client.usable) return;
      await client.noop();
    }
  }

  /** The server refused the login: the credentials may refresh a token, or mark the mailbox. */
  private async refused(error: Error): Promise<void> {
    try {
      await this.o.credentials.loginRefused(this.o.mailbox, 'imap', error);
    } catch (e) {
      this.logger.debug(`loginRefused failed: ${describeImapError(e)}`);
    }
  }

  private async recordSuccess(): Promise<void> {
    const at = new Date();
    this.state.lastSuccessAt = at;
    this.state.lastError = null;
    this.state.lastErrorAt = null;
    await this.o.cursor.recordSuccess(at);
    await this.o.report.succeeded(this.o.mailbox, at, this.state.backlog);
  }

  private async recordError(message: string): Promise<void> {
    const at = new Date();
    this.state.lastError = message;
    this.state.lastErrorAt = at;
    try {
      await this.o.cursor.recordError(message, at);
      await this.o.report.failed(this.o.mailbox, message, at, this.state.backlog);
    } catch (e) {
      this.logger.debug(`could not record the IMAP error: ${describeImapError(e)}`);
    }
  }
}

/** imapflow is loaded here, not at start: a server without IMAP mailboxes never needs it. */
async function createClient(l: ImapLocation, login: MailLogin | null): Promise<ImapFlow> {
  const { ImapFlow } = await import('imapflow');
  return new ImapFlow({
    host: l.host,
    port: l.port,
    secure: l.secure,
    // imapflow picks OAUTHBEARER or XOAUTH2 for an access token by the server's capabilities.
    auth: login ?? undefined,
    tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    logger: false,
    disableAutoIdle: true,
    maxIdleTime: IMAP_IDLE_RESTART_MS,
    connectionTimeout: IMAP_CONNECTION_TIMEOUT_MS,
    greetingTimeout: IMAP_GREETING_TIMEOUT_MS,
    socketTimeout: IMAP_SOCKET_TIMEOUT_MS,
  });
}

/** imapflow marks a login the server refused (`NO [AUTHENTICATIONFAILED]` and the like). */
export function isAuthenticationFailure(e: unknown): boolean {
  return !!(e as { authenticationFailed?: boolean } | null)?.authenticationFailed;
}

/** A one-line description, with the server's answer and code when imapflow has them. */
export function describeImapError(e: unknown): string {
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
