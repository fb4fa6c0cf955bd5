import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import { ByteBudget } from '../../common/byte-budget';
import type { AppConfig, ListenAddress } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { MailboxDirectory } from '../../mailboxes/mailbox';
import { MailboxDirectoryService } from '../../mailboxes/mailbox-directory.service';
import { MetricsService } from '../../metrics/metrics.service';
import { InboundMailService } from '../inbound-mail.service';
import { type ListenerKind, MailListener } from './mail-listener';

/** How long a shutdown lets the current transactions finish before it closes their connections. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** One running listener. */
interface Running {
  listener: MailListener;
  server: SMTPServer;
  address: AddressInfo;
}

/**
 * The SMTP and LMTP listeners (SMTP_LISTEN, LMTP_LISTEN; both off by default): MailDesk receives
 * mail itself for its mailboxes' addresses and aliases, and answers 250 only once it is committed
 * (mail-listener.ts). Only instances that run the background workers listen (never the CLI).
 * `smtp-server` is loaded only when a listener is configured. At shutdown the listeners stop
 * accepting, let the current transactions finish (at most SHUTDOWN_GRACE_MS, then 421), and wait
 * for the mails being stored.
 */
@Injectable()
export class SmtpListenerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('SmtpListener');
  private readonly running = new Map<ListenerKind, Running>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly inbound: InboundMailService,
    @Inject(MailboxDirectoryService) private readonly directory: Pick<MailboxDirectory, 'ownAddresses'>,
    @Optional() @Inject(MetricsService) private readonly metrics?: Pick<MetricsService, 'countSmtpReply'>,
  ) {}

  /** Starts the configured listeners; a listener that cannot bind fails the start. */
  async onApplicationBootstrap(): Promise<void> {
    const { smtp, lmtp } = this.config.listeners;
    if (!this.config.workers || (!smtp && !lmtp)) return;
    // Mail bytes held by both listeners together while received and stored (the webhook's bound).
    const budget = new ByteBudget(this.config.inbound.maxInFlightBytes);
    if (smtp) await this.start('smtp', smtp, budget);
    if (lmtp) await this.start('lmtp', lmtp, budget);
  }

  /** Stops accepting, lets the current transactions finish (bounded), then closes. */
  async onModuleDestroy(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(
      all.map(async ({ listener, server }) => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await listener.settled();
      }),
    );
  }

  /** Where a listener listens (the bound port when configured with port 0), null when it is off. */
  address(kind: ListenerKind): AddressInfo | null {
    return this.running.get(kind)?.address ?? null;
  }

  private async start(kind: ListenerKind, at: ListenAddress, budget: ByteBudget): Promise<void> {
    const { SMTPServer } = await import('smtp-server');
    const limits = this.config.listeners;
    const listener = new MailListener(
      kind,
      {
        ingest: (raw, source, options) => this.inbound.ingest(raw, source, options),
        ownAddresses: () => this.directory.ownAddresses(),
        count: (l, stage, code) => this.metrics?.countSmtpReply(l, stage, code),
        log: this.logger,
      },
      {
        maxBytes: this.config.mail.maxInboundBytes,
        maxConnections: limits.maxConnections,
        maxConnectionsPerIp: limits.maxConnectionsPerIp,
        maxRecipients: limits.maxRecipients,
        socketTimeoutMs: limits.socketTimeoutMs,
        closeTimeoutMs: SHUTDOWN_GRACE_MS,
      },
      budget,
    );
    const tls = limits.tls && { cert: fs.readFileSync(limits.tls.certFile), key: fs.readFileSync(limits.tls.keyFile) };
    const server = new SMTPServer(listener.options(tls));
    // A client's socket error (a reset, a scanner): the connection is gone; worth a debug line only.
    server.on('error', (e: Error) => this.logger.debug(`${kind}: ${e.message}`));
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      const onError = (e: Error) =>
        reject(new Error(`${kind.toUpperCase()}_LISTEN ${at.host}:${at.port}: ${e.message}`));
      server.server.once('error', onError);
      server.listen(at.port, at.host, () => {
        server.server.off('error', onError);
        resolve(server.server.address() as AddressInfo);
      });
    });
    this.running.set(kind, { listener, server, address });
    this.logger.log(
      `${kind.toUpperCase()} listening on ${address.address}:${address.port}${tls ? ' (STARTTLS)' : ''}, up to ${this.config.mail.maxInboundBytes} bytes a mail`,
    );
  }
}
