import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { WebhookEvent } from '../../webhooks/webhook-events';
import { WebhooksService } from '../../webhooks/webhooks.service';
import { type MailboxDirectory, type MailboxRecord, MailboxUnavailableError } from '../mailbox';
import { MailboxDirectoryService } from '../mailbox-directory.service';
import type { Oauth2TokenSource } from '../mailbox-credentials.service';
import { MailboxesRepository, type MailboxesStore } from '../mailboxes.repository';
import { SecretBoxService } from '../secret-box.service';
import { Oauth2Repository, type Oauth2Store } from './oauth2.repository';
import { providerEndpoints } from './oauth2-providers';
import { refreshAccessToken, type TokenResult } from './token-endpoint';

/** The webhook event queued when a mailbox needs an admin to authorize it again. */
export const NEEDS_REAUTHORIZATION_EVENT: WebhookEvent = 'mailbox.needs_reauthorization';

/** How eagerly tokens are refreshed and how transient failures are retried (overridable in tests). */
export interface Oauth2Timings {
  /** Refresh when less than this remains of an access token... */
  refreshMarginMs: number;
  /** ...or less than this share of its lifetime (whichever margin is smaller). */
  refreshMarginShare: number;
  /** A token endpoint call gives up after this long. */
  requestTimeoutMs: number;
  /** Attempts of one refresh on transient failures (network, timeout, 5xx, 429). */
  attempts: number;
  /** Backoff before the 2nd attempt; doubles each time, with jitter. */
  retryBaseMs: number;
  /**
   * How often the tokens of the active OAuth2 mailboxes are looked at and refreshed when due, used
   * or not: an idle mailbox's token (its IMAP session needs no new login) is renewed ahead of
   * expiry all the same, and a revoked grant is noticed within a token's lifetime.
   */
  checkEveryMs: number;
}

/** Injection token of Oauth2Timings overrides (tests). */
export const OAUTH2_TIMINGS = 'OAUTH2_TIMINGS';

export const DEFAULT_OAUTH2_TIMINGS: Oauth2Timings = {
  refreshMarginMs: 5 * 60_000,
  refreshMarginShare: 0.1,
  requestTimeoutMs: 15_000,
  attempts: 3,
  retryBaseMs: 500,
  checkEveryMs: 10_000,
};

/** The token endpoint could not be reached or answered with a transient error: try again later. */
export class Oauth2TransientError extends Error {
  constructor(
    readonly mailboxId: number,
    message: string,
  ) {
    super(`mailbox ${mailboxId}: OAuth2 token refresh failed for now (${message})`);
    this.name = 'Oauth2TransientError';
  }
}

/** Seals and opens stored secrets (SecretBoxService). */
export type Sealer = Pick<SecretBoxService, 'seal' | 'open'>;
/** What the token source reads and writes of the mailboxes (MailboxesRepository). */
export type MailboxTokenStore = Pick<MailboxesStore, 'get' | 'storeOauth2Tokens'>;
/** Where the needs-reauthorization event goes (WebhooksService). */
export type EventQueue = {
  enqueue(manager: EntityManager, event: WebhookEvent, data: Record<string, unknown>): Promise<void>;
};

/** An access token this instance holds, unsealed. */
interface CachedToken {
  accessToken: string;
  /** As stored in the row (to drop exactly this one when a server refuses it). */
  sealed: string;
  expiresAt: number;
  /** Its lifetime when this instance obtained it; unknown (null) for one read from the row. */
  lifetimeMs: number | null;
  /** The mailbox's version it belongs to (a re-authorization bumps it). */
  version: number;
}

/**
 * The OAuth2 access tokens of mailboxes (the Oauth2TokenSource MailboxCredentialsService asks):
 *
 * - One token per mailbox, shared by its IMAP and SMTP and by every instance: stored sealed in the
 *   mailbox's row with its expiry, and kept unsealed in memory here.
 * - Refreshed ahead of expiry (less than 5 minutes or 10% of its lifetime left, the smaller).
 *   Refreshes of one mailbox are serialized: in this process by one promise per mailbox, across
 *   instances by the refresh lock (Oauth2Store.withRefreshLock); under it the row is read again, so
 *   an instance that waited uses the token the other one just stored instead of spending a
 *   refresh token the provider may have rotated already.
 * - A refresh token rotated by the provider is stored with the new access token.
 * - A refusal for good (invalid_grant: revoked or expired consent; invalid_client,
 *   unauthorized_client...) moves the mailbox to `needs_reauthorization`, queues the webhook event
 *   `mailbox.needs_reauthorization` in the same transaction, and logs a warning (never a token).
 * - Transient failures (network, timeouts, 5xx, 429) are retried with backoff and change no state;
 *   while the current token is still valid it keeps being used.
 */
@Injectable()
export class Oauth2TokenService implements Oauth2TokenSource, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Mailboxes');
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private readonly cache = new Map<number, CachedToken>();
  private readonly inflight = new Map<number, Promise<string>>();
  private readonly timings: Oauth2Timings;

  constructor(
    @Inject(MailboxesRepository) private readonly mailboxes: MailboxTokenStore,
    @Inject(Oauth2Repository) private readonly store: Oauth2Store,
    @Inject(SecretBoxService) private readonly box: Sealer,
    @Inject(WebhooksService) private readonly events: EventQueue,
    @Optional() @Inject(OAUTH2_TIMINGS) timings?: Partial<Oauth2Timings>,
    @Optional() @Inject(MailboxDirectoryService) private readonly directory?: Pick<MailboxDirectory, 'all'>,
    @Optional() @Inject(APP_CONFIG) private readonly config?: Pick<AppConfig, 'workers'>,
  ) {
    this.timings = { ...DEFAULT_OAUTH2_TIMINGS, ...timings };
  }

  /** With the background workers on: the tokens are refreshed ahead of expiry (refreshDue). */
  onApplicationBootstrap(): void {
    if (!this.directory || !this.config?.workers) return;
    this.timer = setInterval(() => {
      this.checking ??= this.refreshDue().finally(() => (this.checking = null));
    }, this.timings.checkEveryMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
  }

  /**
   * Refreshes the token of every authorized, active OAuth2 mailbox that is due (or unknown to
   * this instance). Failures are the refresh's own: a refused grant flips the mailbox to
   * `needs_reauthorization`, a transient one is tried again at the next check. Never throws.
   */
  async refreshDue(): Promise<void> {
    try {
      for (const mailbox of await this.directory!.all()) {
        if (!mailbox.oauth2 || !mailbox.oauth2RefreshSecret) continue;
        if (mailbox.state !== 'active' && mailbox.state !== 'error') continue;
        await this.accessToken(mailbox).catch((e: Error) =>
          this.logger.debug(`mailbox ${mailbox.id}: token check: ${e.message.slice(0, 200)}`),
        );
      }
    } catch (e) {
      this.logger.debug(`OAuth2 token check failed: ${(e as Error).message.slice(0, 200)}`);
    }
  }

  /** A valid access token; MailboxUnavailableError when the mailbox needs re-authorization, Oauth2TransientError for now. */
  async accessToken(mailbox: MailboxRecord): Promise<string> {
    if (mailbox.state === 'needs_reauthorization' || mailbox.state === 'disabled') {
      throw new MailboxUnavailableError(mailbox.id, mailbox.state);
    }
    const cached = this.cache.get(mailbox.id);
    if (cached && cached.version === mailbox.version && !this.due(cached)) return cached.accessToken;
    return this.refresh(mailbox.id);
  }

  /**
   * The server refused the token: forget it here and in the row (unless another instance stored
   * a newer one meanwhile), then refresh once so a revoked grant is noticed now. Never throws:
   * the next accessToken() answers for the outcome.
   */
  async invalidate(mailbox: MailboxRecord, reason: Error): Promise<void> {
    const cached = this.cache.get(mailbox.id);
    this.cache.delete(mailbox.id);
    const sealed = cached?.sealed ?? (await this.mailboxes.get(mailbox.id))?.oauth2AccessSecret;
    if (sealed) await this.store.dropAccessToken(mailbox.id, sealed);
    this.logger.log(
      `mailbox ${mailbox.id}: the server refused its OAuth2 access token (${reason.message.slice(0, 200)}); refreshing`,
    );
    try {
      await this.refresh(mailbox.id);
    } catch (e) {
      if (!(e instanceof MailboxUnavailableError) && !(e instanceof Oauth2TransientError)) throw e;
    }
  }

  /**
   * Forgets what this instance holds of a mailbox's token (after a re-authorization here; other
   * instances notice the row's new version).
   */
  forget(mailboxId: number): void {
    this.cache.delete(mailboxId);
  }

  /** One refresh per mailbox at a time in this process; callers meanwhile share its outcome. */
  private refresh(mailboxId: number): Promise<string> {
    let running = this.inflight.get(mailboxId);
    if (!running) {
      running = this.store
        .withRefreshLock(mailboxId, () => this.refreshLocked(mailboxId))
        .finally(() => this.inflight.delete(mailboxId));
      this.inflight.set(mailboxId, running);
    }
    return running;
  }

  /** Under the refresh lock: the stored token if another instance refreshed it, else a refresh. */
  private async refreshLocked(mailboxId: number): Promise<string> {
    const row = await this.mailboxes.get(mailboxId);
    if (!row) throw new MailboxUnavailableError(mailboxId, 'disabled', 'it no longer exists');
    if (row.state === 'needs_reauthorization' || row.state === 'disabled') {
      throw new MailboxUnavailableError(row.id, row.state);
    }
    if (!row.oauth2) throw new MailboxUnavailableError(row.id, row.state, 'it does not use OAuth2');
    const stored = this.fromRow(row);
    if (stored && !this.due(stored)) {
      this.cache.set(row.id, stored);
      return stored.accessToken;
    }
    if (!row.oauth2RefreshSecret || !row.oauth2ClientSecret) {
      return this.refusedForGood(row, 'it has not been authorized yet');
    }
    const endpoints = providerEndpoints(row.oauth2);
    const refreshToken = this.box.open(row.oauth2RefreshSecret);
    const clientSecret = this.box.open(row.oauth2ClientSecret);
    let result: TokenResult | undefined;
    for (let attempt = 1; attempt <= this.timings.attempts; attempt++) {
      if (attempt > 1) await sleep(backoff(this.timings.retryBaseMs, attempt - 1));
      result = await refreshAccessToken(
        endpoints.tokenUrl,
        { refreshToken, clientId: row.oauth2.clientId, clientSecret },
        { timeoutMs: this.timings.requestTimeoutMs },
      );
      if (result.ok || result.permanent) break;
    }
    if (!result) throw new Oauth2TransientError(row.id, 'no attempt was made');
    if (result.ok) {
      const { tokens } = result;
      const sealed = this.box.seal(tokens.accessToken);
      await this.mailboxes.storeOauth2Tokens(row.id, {
        ...(tokens.refreshToken ? { refreshSecret: this.box.seal(tokens.refreshToken) } : {}),
        accessSecret: sealed,
        accessExpiresAt: tokens.expiresAt,
      });
      const now = Date.now();
      this.cache.set(row.id, {
        accessToken: tokens.accessToken,
        sealed,
        expiresAt: tokens.expiresAt.getTime(),
        lifetimeMs: tokens.expiresAt.getTime() - now,
        version: row.version,
      });
      return tokens.accessToken;
    }
    if (result.permanent) return this.refusedForGood(row, result.message);
    // Transient: the current token serves while it lasts.
    if (stored && stored.expiresAt > Date.now() + 1000) {
      this.logger.warn(
        `mailbox ${row.id}: refreshing its OAuth2 token failed for now (${result.message}); the current one serves`,
      );
      this.cache.set(row.id, stored);
      return stored.accessToken;
    }
    this.logger.warn(`mailbox ${row.id}: refreshing its OAuth2 token failed for now (${result.message})`);
    throw new Oauth2TransientError(row.id, result.message);
  }

  /** needs_reauthorization, the webhook event in the same transaction, a warning; then throws. */
  private async refusedForGood(row: MailboxRecord, message: string): Promise<never> {
    this.cache.delete(row.id);
    const reason = `OAuth2 refused: ${message}`;
    const moved = await this.store.transaction(async (m) => {
      const mailbox = await this.store.markNeedsReauthorization(m, row.id, reason);
      if (mailbox) {
        await this.events.enqueue(m, NEEDS_REAUTHORIZATION_EVENT, {
          mailbox: { id: mailbox.id, name: mailbox.name, address: mailbox.address, state: mailbox.state },
          reason,
        });
      }
      return mailbox;
    });
    if (moved) {
      this.logger.warn(
        `mailbox ${row.id} (${row.address}) needs re-authorization: ${reason}. ` +
          `An admin opens GET /mailboxes/${row.id}/oauth2/authorize`,
      );
    }
    throw new MailboxUnavailableError(row.id, 'needs_reauthorization');
  }

  /** The row's access token, unsealed, or null when it holds none. */
  private fromRow(row: MailboxRecord): CachedToken | null {
    if (!row.oauth2AccessSecret || !row.oauth2AccessExpiresAt) return null;
    return {
      accessToken: this.box.open(row.oauth2AccessSecret),
      sealed: row.oauth2AccessSecret,
      expiresAt: row.oauth2AccessExpiresAt.getTime(),
      lifetimeMs: this.cache.get(row.id)?.sealed === row.oauth2AccessSecret ? this.cache.get(row.id)!.lifetimeMs : null,
      version: row.version,
    };
  }

  /** Whether a token is within its refresh margin (or past its expiry). */
  private due(token: CachedToken, now = Date.now()): boolean {
    const { refreshMarginMs, refreshMarginShare } = this.timings;
    const margin =
      token.lifetimeMs === null ? refreshMarginMs : Math.min(refreshMarginMs, token.lifetimeMs * refreshMarginShare);
    return token.expiresAt - now <= margin;
  }
}

/** base * 2^(n-1), +-25% jitter. */
function backoff(baseMs: number, n: number): number {
  return Math.round(baseMs * 2 ** (n - 1) * (0.75 + Math.random() * 0.5));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
