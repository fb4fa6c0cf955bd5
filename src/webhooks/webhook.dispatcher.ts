import { Inject, Injectable, Logger } from '@nestjs/common';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { hmacSignature } from '../common/hmac-signature';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { type Attempt, LeaseQueue } from '../database/lease-queue';
import { deliveryErrorClass, guardedLookup, isPrivateAddress, PrivateAddressError } from './webhook-target';
import { type ClaimedDelivery, WebhooksRepository, type WebhooksStore } from './webhooks.repository';

/** Deliveries claimed per round. */
const BATCH_SIZE = 20;

/**
 * Sends queued webhook deliveries as a lease queue (database/lease-queue.ts), as OutboxDispatcher
 * sends mail: claims due deliveries, POSTs each as signed JSON with a timeout, then marks it
 * delivered (2xx), attempts it again after an exponential backoff with jitter (network errors,
 * timeouts, 5xx, 408, 429) or marks it failed (other 4xx, or attempts exhausted). Woken when a
 * transaction that queued deliveries commits (WebhooksService.enqueueAll), and every OUTBOX_POLL_MS.
 */
@Injectable()
export class WebhookDispatcher extends LeaseQueue<ClaimedDelivery> {
  /** Resolves and checks every target's addresses (WEBHOOK_ALLOW_PRIVATE_TARGETS). */
  private readonly lookup: ReturnType<typeof guardedLookup>;
  /** Own connection pools (keep-alive): a pooled socket is one that connected to a checked address. */
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 20 });

  constructor(
    @Inject(WebhooksRepository) webhooks: WebhooksStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super({
      name: 'webhook',
      logger: new Logger(WebhookDispatcher.name),
      store: webhooks.leases,
      pollMs: config.outbox.pollMs,
      batchSize: BATCH_SIZE,
      maxAttempts: config.webhooks.maxAttempts,
      retryBaseMs: config.webhooks.retryBaseMs,
      autoStart: config.workers,
    });
    this.lookup = guardedLookup(config.webhooks.allowPrivateTargets);
  }

  override async onModuleDestroy(): Promise<void> {
    await super.onModuleDestroy();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  protected describe(row: ClaimedDelivery): string {
    return `webhook delivery #${row.id} (${row.event})`;
  }

  /**
   * One signed POST with a timeout, by node:http(s) with a guarded `lookup` (webhook-target.ts):
   * unless WEBHOOK_ALLOW_PRIVATE_TARGETS, a literal private address is refused before connecting
   * and a host name is refused when any address it resolves to is private, the socket connecting
   * to the address that was checked. Redirects are not followed. A failure reports its class
   * (`timeout`, `refused`, `tls`, `dns`, `private address`, `network`, or `HTTP <status>`), never
   * its cause.
   */
  protected async attempt(row: ClaimedDelivery): Promise<Attempt> {
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
              'X-MailDesk-Signature': hmacSignature(row.secret, timestamp, body),
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
      if (status >= 200 && status < 300) return { ok: true, permanent: false, error: null, outcome: [status] };
      const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
      return { ok: false, permanent, error: `HTTP ${status}`, outcome: [status] };
    } catch (e) {
      const error = deliveryErrorClass(e);
      // A private target stays private: not worth retrying.
      return { ok: false, permanent: error === 'private address', error, outcome: [null] };
    }
  }
}
