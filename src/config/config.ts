import * as fs from 'node:fs';
import * as path from 'node:path';
import { domainOf } from '../common/addresses';
import type { DatabaseConnection, DatabasePooler, PreparedStatementMode } from '../database/pooler';
import type { Priority } from '../requests/tags';
import type { WeeklySchedule } from '../sla/business-hours';
import {
  type AssignmentMode,
  ConfigError,
  type ListenAddress,
  type LOG_FORMATS,
  type LOG_LEVELS,
  readVariables,
} from './config-variables';

export { CONFIG_VARIABLES, ConfigError, type ListenAddress } from './config-variables';

/**
 * Every environment variable MailDesk reads, validated once at start into one typed object. The
 * variables themselves (name, default, what each accepts and does) are declared once, in
 * CONFIG_TABLE (config-variables.ts); `.env.sample` and docs/configuration.md are written from it.
 */
export interface AppConfig {
  http: { port: number; host: string; corsOrigins: string[] };
  /** TRUST_PROXY: the proxies Fastify may take X-Forwarded-For from (its `trustProxy`); false = none. */
  trustProxy: string[] | false;
  rateLimit: {
    /** Login attempts per client IP per minute; 0 = no limit. */
    loginPerMinute: number;
    /** Failed logins per account and client address per 15 minutes before that address is paused for it (operators/login-attempts.ts); 0 = no limit. */
    loginFailuresPerAccount: number;
    /** Webhook calls per client IP per minute, valid token or not; 0 = no limit (the default). */
    webhookPerMinute: number;
    /** Failed webhook calls (401 and other 4xx) per client IP per minute, then 429 before the body is read; 0 = no limit. */
    webhookFailuresPerMinute: number;
  };
  dataDir: string;
  /** ENCRYPTION_KEY: the keys (as given) that seal stored secrets, the first seals; undefined: DATA_DIR/encryption.key. */
  encryption: { keys: string[] | undefined };
  database: {
    url: string | undefined;
    poolSize: number;
    /** DATABASE_REPLICA_URLS: streaming standbys for lists, searches, reports and exports (docs/replicas.md). */
    replicas: { urls: string[]; maxLagMs: number; poolSize: number };
  } & DatabaseConnection;
  smtp: { url: string | undefined; connectionTimeoutMs: number; greetingTimeoutMs: number; socketTimeoutMs: number };
  mail: {
    supportAddress: string;
    supportName: string;
    messageIdDomain: string;
    templatesDir: string | undefined;
    autoReplyLimitPerHour: number;
    maxInboundBytes: number;
    /** MAIL_PARSE_TIMEOUT_MS: wall-clock deadline of one mail's parse; past it the mail is quarantined (`parse timeout`). */
    parseTimeoutMs: number;
    /** MAIL_PARSE_WORKERS: threads that parse mail; 0 = one per core but one, at least one. */
    parseWorkers: number;
    /**
     * INBOUND_INGEST_BYTES: raw bytes of mail parsed and stored at once by one process (a mail
     * takes several times its size while it is parsed and written); one mail always fits.
     */
    ingestBytes: number;
  };
  outbox: { pollMs: number; maxAttempts: number; batchSize: number; retryBaseMs: number };
  /** Files an operator attaches to a message: largest file (ATTACHMENT_MAX_BYTES) and at most `maxFiles` per message. */
  attachments: { maxBytes: number; maxFiles: number };
  /**
   * Outgoing webhooks: per-call timeout, attempts before a delivery is failed, first retry delay;
   * whether targets on loopback, private and link-local addresses are allowed (webhooks/webhook-target.ts).
   */
  webhooks: { timeoutMs: number; maxAttempts: number; retryBaseMs: number; allowPrivateTargets: boolean };
  /** noopMs: IMAP_NOOP_MS, a NOOP every that many ms instead of IDLE (0: IDLE as `idle` says). */
  imap: { url: string | undefined; pollSeconds: number; moveTo: string | undefined; idle: boolean; noopMs: number };
  /**
   * Service levels: first-response and resolution targets in business minutes (0 = no target),
   * the weekly business hours (null = always open) in `timeZone`, and how often breaches are checked.
   */
  sla: {
    firstResponseMinutes: number;
    resolutionMinutes: number;
    /**
     * The targets of other priorities than normal where configured (SLA_*_MINUTES_URGENT, _HIGH,
     * _LOW); a missing one is the default above. Absent: every priority has the default targets.
     */
    byPriority?: Partial<
      Record<Exclude<Priority, 'normal'>, { firstResponseMinutes?: number; resolutionMinutes?: number }>
    >;
    businessHours: WeeklySchedule | null;
    timeZone: string;
    checkSeconds: number;
  };
  /** Satisfaction rating links in the closing mail: base URL of the links and their lifetime. */
  feedback: { publicUrl: string; linkTtlDays: number };
  /** OAuth2 of mailboxes: the redirect URI registered at the providers (OAUTH2_REDIRECT_URL, else PUBLIC_URL/oauth2/callback). */
  oauth2: { redirectUrl: string };
  /**
   * Open requests one operator may hold (0 = unlimited); whether a reassignment mails the customer;
   * automatic assignment of the requests in no group (`autoMode`, `reassignWhenUnavailable`) and the
   * interval of the sweep that assigns what was left unassigned (docs/assignment.md).
   */
  assignment: {
    operatorMaxOpen: number;
    reassignNotify: boolean;
    autoMode: AssignmentMode;
    reassignWhenUnavailable: boolean;
    sweepSeconds: number;
  };
  /**
   * GET /requests counts matches exactly up to `countLimit` (then `total` is a lower bound and
   * `totalExact` false; 0 = always exact); a search without `sort` ranks the newest
   * `searchRankLimit` matches (0 = every match, counted exactly).
   */
  queue: { countLimit: number; searchRankLimit: number };
  /** Collision detection: seconds a presence announcement (viewing, replying) lasts unless renewed. */
  presence: { ttlSeconds: number };
  /** The audit log: days a row is kept (0 = forever); a daily job deletes older rows. */
  audit: { retentionDays: number };
  /**
   * Blob storage (src/blobs/): `url` s3://bucket/prefix (undefined: the filesystem under
   * DATA_DIR/blobs), the S3 client's endpoint, region, path style and keys, and the sweeper's grace.
   */
  blobs: {
    url?: string;
    endpoint?: string;
    region: string;
    forcePathStyle: boolean;
    accessKeyId?: string;
    secretAccessKey?: string;
    sweepGraceMinutes: number;
  };
  /** Retention of inbound_mail: days raw mail of processed mail and quarantined mail are kept (0 = forever). */
  retention: { rawMailDays: number; quarantineDays: number };
  /** Live events (GET /events/stream): streams per instance and per operator; seconds between heartbeats. */
  events: { maxStreams: number; maxStreamsPerOperator: number; heartbeatSeconds: number };
  /**
   * The inbound webhook: its token and HMAC secret; authenticated calls received or ingested at once
   * (`maxInFlight`) and the body bytes they may hold together (`maxInFlightBytes`), 503 beyond.
   */
  inbound: {
    token: string | undefined;
    hmacSecret: string | undefined;
    maxInFlight: number;
    maxInFlightBytes: number;
    /** MAILGUN_SIGNING_KEY: POST /inbound/mailgun verifies Mailgun's signature with it; unset, that route answers 503. */
    mailgunSigningKey?: string;
  };
  /**
   * The SMTP and LMTP listeners (inbound-mail/smtp/): where each listens (undefined: off), the
   * STARTTLS certificate and key files (undefined: no STARTTLS), and their limits.
   */
  listeners: {
    smtp: ListenAddress | undefined;
    lmtp: ListenAddress | undefined;
    tls: { certFile: string; keyFile: string } | undefined;
    maxConnections: number;
    maxConnectionsPerIp: number;
    maxRecipients: number;
    socketTimeoutMs: number;
  };
  /**
   * Amazon SES receipts through SNS (POST /inbound/ses): the topics accepted, and the URL prefixes
   * trusted besides the SNS hosts for certificates and SubscribeURLs (tests only).
   */
  ses: { topicArns: string[]; extraUrlPrefixes: string[] };
  admin: { email: string; password: string | undefined };
  auth: { jwtSecret: string | undefined; jwtTtlSeconds: number };
  logLevel: (typeof LOG_LEVELS)[number];
  /** `json` (one JSON object a line), `pretty` (coloured text) or `auto`: pretty on a terminal, JSON otherwise. */
  logFormat: (typeof LOG_FORMATS)[number];
  /** Bearer token GET /metrics requires; undefined = /metrics is public. */
  metricsToken: string | undefined;
  /**
   * Background work started at bootstrap: the IMAP poller, the outbox dispatcher and the first-admin
   * seeding. Always true from the environment; the CLI (src/cli.ts) sets it false.
   */
  workers: boolean;
}

type Env = Record<string, string | undefined>;

/** Reads `.env` in the working directory (never overriding the real environment) into `env`. */
export function readDotEnv(env: Env = process.env, file = path.resolve('.env')): void {
  if (!fs.existsSync(file)) return;
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!m || line.trim().startsWith('#')) continue;
    let value = m[2];
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    if (env[m[1]] === undefined) env[m[1]] = value;
  }
}

/**
 * Validates the environment (every variable of CONFIG_TABLE, config-variables.ts) into AppConfig;
 * throws ConfigError naming the variable and what is expected.
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const v = readVariables(env);
  return {
    http: { port: v.PORT, host: v.HOST, corsOrigins: v.CORS_ORIGINS },
    trustProxy: v.TRUST_PROXY,
    rateLimit: {
      loginPerMinute: v.LOGIN_RATE_LIMIT,
      loginFailuresPerAccount: v.LOGIN_ACCOUNT_RATE_LIMIT,
      webhookPerMinute: v.WEBHOOK_RATE_LIMIT,
      webhookFailuresPerMinute: v.WEBHOOK_FAILURE_RATE_LIMIT,
    },
    dataDir: v.DATA_DIR,
    encryption: { keys: v.ENCRYPTION_KEY },
    database: {
      url: v.DATABASE_URL,
      poolSize: v.DATABASE_POOL_SIZE,
      ...databaseConnection(v.DATABASE_URL, v.DATABASE_POOLER, v.DATABASE_DIRECT_URL, v.DATABASE_PREPARED_STATEMENTS),
      replicas: {
        urls: replicaUrls(v.DATABASE_REPLICA_URLS, v.DATABASE_URL),
        maxLagMs: v.DATABASE_REPLICA_MAX_LAG_MS,
        poolSize: v.DATABASE_REPLICA_POOL_SIZE,
      },
    },
    smtp: {
      url: v.SMTP_URL,
      connectionTimeoutMs: v.SMTP_CONNECTION_TIMEOUT_MS,
      greetingTimeoutMs: v.SMTP_GREETING_TIMEOUT_MS,
      socketTimeoutMs: v.SMTP_SOCKET_TIMEOUT_MS,
    },
    mail: {
      supportAddress: v.SUPPORT_ADDRESS,
      supportName: v.SUPPORT_NAME,
      messageIdDomain: (v.MESSAGE_ID_DOMAIN ?? domainOf(v.SUPPORT_ADDRESS)).toLowerCase(),
      templatesDir: v.TEMPLATES_DIR,
      autoReplyLimitPerHour: v.AUTO_REPLY_LIMIT_PER_HOUR,
      maxInboundBytes: v.INBOUND_MAX_BYTES,
      parseTimeoutMs: v.MAIL_PARSE_TIMEOUT_MS,
      ingestBytes: v.INBOUND_INGEST_BYTES,
      parseWorkers: v.MAIL_PARSE_WORKERS,
    },
    outbox: {
      pollMs: v.OUTBOX_POLL_MS,
      maxAttempts: v.OUTBOX_MAX_ATTEMPTS,
      batchSize: v.OUTBOX_BATCH_SIZE,
      retryBaseMs: v.OUTBOX_RETRY_BASE_MS,
    },
    attachments: { maxBytes: v.ATTACHMENT_MAX_BYTES, maxFiles: 10 },
    webhooks: {
      timeoutMs: v.WEBHOOK_DELIVERY_TIMEOUT_MS,
      maxAttempts: v.WEBHOOK_DELIVERY_MAX_ATTEMPTS,
      retryBaseMs: v.WEBHOOK_DELIVERY_RETRY_BASE_MS,
      allowPrivateTargets: v.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    },
    imap: {
      url: v.IMAP_URL,
      pollSeconds: v.IMAP_POLL_SECONDS,
      moveTo: v.IMAP_MOVE_TO,
      idle: v.IMAP_IDLE,
      noopMs: v.IMAP_NOOP_MS,
    },
    sla: {
      firstResponseMinutes: v.SLA_FIRST_RESPONSE_MINUTES,
      resolutionMinutes: v.SLA_RESOLUTION_MINUTES,
      byPriority: {
        urgent: {
          firstResponseMinutes: v.SLA_FIRST_RESPONSE_MINUTES_URGENT,
          resolutionMinutes: v.SLA_RESOLUTION_MINUTES_URGENT,
        },
        high: {
          firstResponseMinutes: v.SLA_FIRST_RESPONSE_MINUTES_HIGH,
          resolutionMinutes: v.SLA_RESOLUTION_MINUTES_HIGH,
        },
        low: {
          firstResponseMinutes: v.SLA_FIRST_RESPONSE_MINUTES_LOW,
          resolutionMinutes: v.SLA_RESOLUTION_MINUTES_LOW,
        },
      },
      businessHours: v.BUSINESS_HOURS,
      timeZone: v.BUSINESS_TIMEZONE,
      checkSeconds: v.SLA_CHECK_SECONDS,
    },
    feedback: {
      publicUrl: (v.PUBLIC_URL ?? `http://127.0.0.1:${v.PORT}`).replace(/\/+$/, ''),
      linkTtlDays: v.RATING_LINK_TTL_DAYS,
    },
    oauth2: {
      redirectUrl:
        v.OAUTH2_REDIRECT_URL ??
        `${(v.PUBLIC_URL ?? `http://127.0.0.1:${v.PORT}`).replace(/\/+$/, '')}/oauth2/callback`,
    },
    assignment: {
      operatorMaxOpen: v.OPERATOR_MAX_OPEN,
      reassignNotify: v.REASSIGN_NOTIFY,
      autoMode: v.AUTO_ASSIGNMENT,
      reassignWhenUnavailable: v.AUTO_REASSIGN_WHEN_UNAVAILABLE,
      sweepSeconds: v.AUTO_ASSIGNMENT_SWEEP_SECONDS,
    },
    queue: { countLimit: v.REQUESTS_COUNT_LIMIT, searchRankLimit: v.REQUESTS_SEARCH_RANK_LIMIT },
    presence: { ttlSeconds: v.PRESENCE_TTL_SECONDS },
    audit: { retentionDays: v.AUDIT_RETENTION_DAYS },
    blobs: {
      url: v.BLOB_STORE_URL,
      endpoint: v.BLOB_STORE_ENDPOINT,
      region: v.BLOB_STORE_REGION,
      forcePathStyle: v.BLOB_STORE_FORCE_PATH_STYLE,
      accessKeyId: v.BLOB_STORE_ACCESS_KEY_ID,
      secretAccessKey: v.BLOB_STORE_SECRET_ACCESS_KEY,
      sweepGraceMinutes: v.BLOB_SWEEP_GRACE_MINUTES,
    },
    retention: { rawMailDays: v.RAW_MAIL_RETENTION_DAYS, quarantineDays: v.QUARANTINE_RETENTION_DAYS },
    events: {
      maxStreams: v.EVENTS_MAX_STREAMS,
      maxStreamsPerOperator: v.EVENTS_MAX_STREAMS_PER_OPERATOR,
      heartbeatSeconds: v.EVENTS_HEARTBEAT_SECONDS,
    },
    inbound: {
      token: v.INBOUND_TOKEN,
      hmacSecret: v.INBOUND_HMAC_SECRET,
      maxInFlight: v.INBOUND_MAX_IN_FLIGHT,
      maxInFlightBytes: v.INBOUND_MAX_IN_FLIGHT_BYTES,
      mailgunSigningKey: v.MAILGUN_SIGNING_KEY,
    },
    listeners: {
      smtp: v.SMTP_LISTEN,
      lmtp: v.LMTP_LISTEN,
      tls: listenerTls(v.SMTP_TLS_CERT, v.SMTP_TLS_KEY),
      maxConnections: v.SMTP_MAX_CONNECTIONS,
      maxConnectionsPerIp: v.SMTP_MAX_CONNECTIONS_PER_IP,
      maxRecipients: v.SMTP_MAX_RECIPIENTS,
      socketTimeoutMs: v.SMTP_LISTEN_TIMEOUT_MS,
    },
    ses: { topicArns: v.SES_SNS_TOPIC_ARNS, extraUrlPrefixes: v.SNS_EXTRA_URL_PREFIXES },
    admin: { email: v.ADMIN_EMAIL, password: v.ADMIN_PASSWORD },
    auth: { jwtSecret: v.JWT_SECRET, jwtTtlSeconds: v.JWT_TTL_SECONDS },
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT,
    metricsToken: v.METRICS_TOKEN,
    workers: true,
  };
}

/** DATABASE_POOLER, DATABASE_DIRECT_URL and DATABASE_PREPARED_STATEMENTS (docs/pgbouncer.md), checked together. */
function databaseConnection(
  url: string | undefined,
  pooler: DatabasePooler,
  directUrl: string | undefined,
  preparedStatements: PreparedStatementMode,
): DatabaseConnection {
  if (!url && (pooler !== 'none' || directUrl)) {
    throw new ConfigError(
      'DATABASE_POOLER and DATABASE_DIRECT_URL need DATABASE_URL (the embedded database has no pooler)',
    );
  }
  if (pooler === 'pgbouncer' && !directUrl) {
    throw new ConfigError(
      'DATABASE_POOLER=pgbouncer needs DATABASE_DIRECT_URL (PostgreSQL itself or a session-mode pool): ' +
        'the leadership locks, LISTEN and the migrations need a session of their own',
    );
  }
  return { pooler, directUrl, preparedStatements };
}

/** DATABASE_REPLICA_URLS: standbys of a real PostgreSQL only (the embedded database has none). */
function replicaUrls(urls: string[], primary: string | undefined): string[] {
  if (urls.length && !primary)
    throw new ConfigError('DATABASE_REPLICA_URLS needs DATABASE_URL (the primary they replicate)');
  return urls;
}

/** SMTP_TLS_CERT and SMTP_TLS_KEY: both or neither. */
function listenerTls(
  certFile: string | undefined,
  keyFile: string | undefined,
): { certFile: string; keyFile: string } | undefined {
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new ConfigError('SMTP_TLS_CERT and SMTP_TLS_KEY must be set together');
  return { certFile, keyFile };
}
