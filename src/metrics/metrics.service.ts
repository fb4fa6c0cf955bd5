import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { IngestStatus } from '../inbound-mail/ingest-result';

/** Route label of requests that matched no route (keeps the label set bounded). */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * The application's Prometheus metrics, in a registry of its own (one per app instance, so tests
 * that boot several apps in one process do not collide). Counters and histograms are updated
 * where things happen; gauges of the outbox and the IMAP poller are set at scrape time.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  /** HTTP latency by route template (`/requests/:id`), method and status code. */
  readonly httpDuration = new Histogram({
    name: 'maildesk_http_request_duration_seconds',
    help: 'HTTP request latency by route template, method and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** Emails through the inbound pipeline by source and result. */
  readonly mailsIngested = new Counter({
    name: 'maildesk_mails_ingested_total',
    help: 'Emails through the inbound pipeline, by source (webhook, imap, cli, smtp, lmtp) and result (created, appended, duplicate, ignored, quarantined)',
    labelNames: ['source', 'result'] as const,
    registers: [this.registry],
  });

  /** Replies of the SMTP and LMTP listeners that decide a connection, a recipient or a mail, by listener and code. */
  readonly smtpReplies = new Counter({
    name: 'maildesk_smtp_replies_total',
    help: 'Replies of the SMTP and LMTP listeners (inbound-mail/smtp/) by listener (smtp, lmtp), what they answer (connection, recipient, data) and reply code (250 accepted, 421, 451, 550, 552 refused)',
    labelNames: ['listener', 'stage', 'code'] as const,
    registers: [this.registry],
  });

  /** Per standby of DATABASE_REPLICA_URLS (docs/replicas.md): 1 while lists may be read from it. */
  readonly replicaHealthy = new Gauge({
    name: 'maildesk_db_replica_healthy',
    help: 'A read replica (DATABASE_REPLICA_URLS) answers, is a standby and lags at most DATABASE_REPLICA_MAX_LAG_MS (1) or is skipped (0)',
    labelNames: ['replica'] as const,
    registers: [this.registry],
  });

  readonly replicaLag = new Gauge({
    name: 'maildesk_db_replica_lag_seconds',
    help: 'How far a read replica is behind the primary, as measured by this instance every second (-1: unknown)',
    labelNames: ['replica'] as const,
    registers: [this.registry],
  });

  readonly replicaReads = new Counter({
    name: 'maildesk_db_replica_reads_total',
    help: 'Reads that could go to a replica (lists, searches, reports, exports), by where they went: replica, primary (none healthy or caught up with the operator) or fallback (the replica failed, retried on the primary)',
    labelNames: ['target'] as const,
    registers: [this.registry],
  });

  readonly outboxPending = new Gauge({
    name: 'maildesk_outbox_pending',
    help: 'Outbound mails waiting to be sent',
    registers: [this.registry],
  });

  readonly outboxDue = new Gauge({
    name: 'maildesk_outbox_due',
    help: 'Pending outbound mails whose time has come',
    registers: [this.registry],
  });

  readonly outboxFailed = new Gauge({
    name: 'maildesk_outbox_failed',
    help: 'Outbound mails that failed for good',
    registers: [this.registry],
  });

  readonly outboxOldestDueAge = new Gauge({
    name: 'maildesk_outbox_oldest_due_age_seconds',
    help: 'How long the oldest due outbound mail has been waiting (0 when none)',
    registers: [this.registry],
  });

  /** How long requests for a pooled database connection waited, API and background apart (PriorityPool). */
  readonly dbConnectionWait = new Histogram({
    name: 'maildesk_db_connection_wait_seconds',
    help: 'How long a request for a pooled database connection waited, by lane (api: HTTP requests; background: IMAP import, outbox, webhooks, SLA monitor)',
    labelNames: ['lane'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [this.registry],
  });

  /** Per mailbox (issue 18): 1 for its current state, 0 for the others. */
  readonly mailboxState = new Gauge({
    name: 'maildesk_mailbox_state',
    help: "1 for the mailbox's state (active, error, needs_reauthorization, disabled), 0 for the others",
    labelNames: ['mailbox_id', 'address', 'state'] as const,
    registers: [this.registry],
  });

  /** Per IMAP mailbox: when its last import round succeeded (absent before the first one). */
  readonly mailboxLastSuccess = new Gauge({
    name: 'maildesk_mailbox_imap_last_success_timestamp_seconds',
    help: "Unix time of the mailbox's last successful IMAP import round (written by whichever instance leads it)",
    labelNames: ['mailbox_id', 'address'] as const,
    registers: [this.registry],
  });

  /** Per IMAP mailbox: messages above its cursor at the last look. */
  readonly mailboxBacklog = new Gauge({
    name: 'maildesk_mailbox_imap_backlog',
    help: "Messages above the mailbox's IMAP cursor at the last look (absent when not known)",
    labelNames: ['mailbox_id', 'address'] as const,
    registers: [this.registry],
  });

  /** Per IMAP mailbox: 1 on the instance that leads it. */
  readonly mailboxLeader = new Gauge({
    name: 'maildesk_mailbox_imap_leader',
    help: '1 when this instance leads the mailbox and imports from it, else 0',
    labelNames: ['mailbox_id', 'address'] as const,
    registers: [this.registry],
  });

  /** Only with IMAP_URL set: seconds since the last successful round (+Inf before the first one). */
  readonly imapPollAge: Gauge | null;

  /** Only with IMAP_URL set: 1 on the instance that holds the mailbox's leader lock. */
  readonly imapLeader: Gauge | null;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    collectDefaultMetrics({ register: this.registry });
    const imap = !!config.imap.url;
    this.imapPollAge = imap
      ? new Gauge({
          name: 'maildesk_imap_poll_age_seconds',
          help: 'Seconds since the last successful IMAP import round (the leader writes it; +Inf before the first one)',
          registers: [this.registry],
        })
      : null;
    this.imapLeader = imap
      ? new Gauge({
          name: 'maildesk_imap_leader',
          help: '1 when this instance holds the mailbox leader lock and imports, else 0',
          registers: [this.registry],
        })
      : null;
  }

  /** Counts one reply of an SMTP or LMTP listener (a refused connection or recipient, a mail's answer). */
  countSmtpReply(listener: string, stage: 'connection' | 'recipient' | 'data', code: number): void {
    this.smtpReplies.inc({ listener, stage, code: String(code) });
  }

  /** Counts one email through InboundMailService.ingest. */
  countIngested(source: string, result: IngestStatus): void {
    this.mailsIngested.inc({ source, result });
  }
}
