import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { DataSource, EntitySubscriberInterface, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DispatchLoop } from '../common/dispatch-loop';
import { CLAIM_LOCK, retryDelayMs } from '../outbound-mail/outbox.dispatcher';
import { WEBHOOK_KICK } from './webhook-events';
import { signWebhook } from './webhook-signature';
import { deliveryErrorClass, guardedLookup, isPrivateAddress, PrivateAddressError } from './webhook-target';
import { deliveryFromRow, WebhookDelivery } from './webhooks.service';

/** A claimed delivery with where it goes. */
interface Claimed extends WebhookDelivery {
  url: string;
  secret: string;
}

/** Outcome of one HTTP call. */
interface CallResult {
  ok: boolean;
  /** Not worth retrying (a 4xx other than 408 and 429). */
  permanent: boolean;
  statusCode: number | null;
  error: string | null;
}

/** Deliveries claimed per round. */
const BATCH_SIZE = 20;

/**
 * Sends queued webhook deliveries, the way OutboxDispatcher sends mail: a self-rescheduling
 * timer claims due rows in one autocommitted statement (`FOR UPDATE SKIP LOCKED` and a lease, so
 * several instances never send one twice at once), POSTs each as signed JSON with a timeout, then
 * marks it delivered (2xx), retries it with exponential backoff and jitter (network errors,
 * timeouts, 5xx, 408, 429) or marks it failed (other 4xx, or attempts exhausted). Woken when a
 * transaction that queued deliveries commits.
 */
@Injectable()
export class WebhookDispatcher
  implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown, EntitySubscriberInterface
{
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly loop: DispatchLoop;
  /** Resolves and checks every target's addresses (WEBHOOK_ALLOW_PRIVATE_TARGETS). */
  private readonly lookup: ReturnType<typeof guardedLookup>;
  /** Own connection pools (keep-alive): a pooled socket is one that connected to a checked address. */
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 20 });

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.lookup = guardedLookup(config.webhooks.allowPrivateTargets);
    dataSource.subscribers.push(this);
    this.loop = new DispatchLoop({
      name: 'webhook',
      pollMs: config.outbox.pollMs,
      logger: this.logger,
      drain: () => this.drain(),
    });
  }

  /** Starts the loop (not in the CLI). */
  onApplicationBootstrap(): void {
    if (this.config.workers) this.start();
  }

  /** Starts the polling loop (idempotent); the first round runs at once. */
  start(): void {
    this.loop.start();
  }

  /** Stops the loop and waits for the round in progress. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** TypeORM hook: a transaction that queued deliveries committed. */
  afterTransactionCommit(event: TransactionCommitEvent): void {
    const qr = event.queryRunner;
    if (qr.isTransactionActive || !qr.data?.[WEBHOOK_KICK]) return;
    delete qr.data[WEBHOOK_KICK];
    this.kick();
  }

  /** TypeORM hook: forget the mark of a rolled back transaction. */
  afterTransactionRollback(event: TransactionRollbackEvent): void {
    const qr = event.queryRunner;
    if (!qr.isTransactionActive && qr.data) delete qr.data[WEBHOOK_KICK];
  }

  /** Asks for a round soon (debounced); after the current one when one runs. */
  kick(): void {
    this.loop.kick();
  }

  /** Sends every due delivery; resolves with how many were attempted. Calls are serialised. */
  dispatchOnce(): Promise<number> {
    return this.loop.dispatchOnce();
  }

  private async drain(): Promise<number> {
    let total = 0;
    while (!this.loop.isStopped) {
      const rows = await this.claim();
      if (rows.length === 0) break;
      await Promise.all(rows.map((row) => this.deliver(row)));
      total += rows.length;
      if (rows.length < BATCH_SIZE) break;
    }
    return total;
  }

  /** Leases due deliveries and counts the attempt, in one autocommitted statement. */
  private async claim(): Promise<Claimed[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `WITH claimed AS (
         UPDATE webhook_deliveries SET locked_until = now() + interval '${CLAIM_LOCK}', attempts = attempts + 1
          WHERE id IN (SELECT id FROM webhook_deliveries
                        WHERE status = 'pending' AND next_attempt_at <= now()
                          AND (locked_until IS NULL OR locked_until < now())
                        ORDER BY next_attempt_at, id
                        LIMIT $1
                        FOR UPDATE SKIP LOCKED)
          RETURNING *)
       SELECT c.*, w.url, w.secret FROM claimed c JOIN webhooks w ON w.id = c.webhook_id ORDER BY c.next_attempt_at, c.id`,
      [BATCH_SIZE],
    );
    return rows.map((r) => ({ ...deliveryFromRow(r), url: r.url as string, secret: r.secret as string }));
  }

  /**
   * One signed POST with a timeout, by node:http(s) with a guarded `lookup` (webhook-target.ts):
   * unless WEBHOOK_ALLOW_PRIVATE_TARGETS, a literal private address is refused before connecting
   * and a host name is refused when any address it resolves to is private, the socket connecting
   * to the address that was checked. Redirects are not followed. A failure reports its class
   * (`timeout`, `refused`, `tls`, `dns`, `private address`, `network`, or `HTTP <status>`), never
   * its cause.
   */
  private async call(row: Claimed): Promise<CallResult> {
    const body = JSON.stringify(row.payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const allowPrivate = this.config.webhooks.allowPrivateTargets;
    try {
      const url = new URL(row.url);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (!allowPrivate && net.isIP(host) && isPrivateAddress(host)) throw new PrivateAddressError(host);
      const status = await new Promise<number>((resolve, reject) => {
        const req = (url.protocol === 'https:' ? https : http).request(
          url,
          {
            method: 'POST',
            agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
            lookup: this.lookup,
            headers: {
              'Content-Type': 'application/json',
              'Content-Length': Buffer.byteLength(body),
              'User-Agent': 'MailDesk-Webhooks/1',
              'X-MailDesk-Event': row.event,
              'X-MailDesk-Delivery': String(row.id),
              'X-MailDesk-Timestamp': timestamp,
              'X-MailDesk-Signature': signWebhook(row.secret, timestamp, body),
            },
          },
          (res) => {
            res.resume(); // the answer's body is not read
            resolve(res.statusCode ?? 0);
          },
        );
        const timer = setTimeout(
          () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
          this.config.webhooks.timeoutMs,
        );
        req.on('close', () => clearTimeout(timer));
        req.on('error', reject);
        req.end(body);
      });
      if (status >= 200 && status < 300) return { ok: true, permanent: false, statusCode: status, error: null };
      const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
      return { ok: false, permanent, statusCode: status, error: `HTTP ${status}` };
    } catch (e) {
      const error = deliveryErrorClass(e);
      // A private target stays private: not worth retrying.
      return { ok: false, permanent: error === 'private address', statusCode: null, error };
    }
  }

  private async deliver(row: Claimed): Promise<void> {
    const result = await this.call(row);
    try {
      if (result.ok) {
        await this.dataSource.query(
          `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), locked_until = NULL, last_status_code = $2, last_error = NULL
            WHERE id = $1`,
          [row.id, result.statusCode],
        );
      } else if (result.permanent || row.attempts >= this.config.webhooks.maxAttempts) {
        this.logger.warn(
          `webhook delivery #${row.id} (${row.event}) failed after ${row.attempts} attempt(s): ${result.error}`,
        );
        await this.dataSource.query(
          `UPDATE webhook_deliveries SET status = 'failed', locked_until = NULL, last_status_code = $2, last_error = $3 WHERE id = $1`,
          [row.id, result.statusCode, result.error],
        );
      } else {
        const delay = retryDelayMs(row.attempts, this.config.webhooks.retryBaseMs);
        await this.dataSource.query(
          `UPDATE webhook_deliveries SET next_attempt_at = now() + $2 * interval '1 millisecond', locked_until = NULL,
                  last_status_code = $3, last_error = $4
            WHERE id = $1`,
          [row.id, delay, result.statusCode, result.error],
        );
        this.loop.wakeIn(delay);
      }
    } catch (e) {
      // The lease expires by itself; the delivery is attempted again then.
      this.logger.error(`webhook delivery #${row.id}: could not record the outcome: ${(e as Error).message}`);
    }
  }
}
