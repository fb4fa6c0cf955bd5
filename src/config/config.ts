import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { isTimeZone, parseBusinessHours, type WeeklySchedule } from '../sla/business-hours';
import { placeholderMessage } from './placeholder-secrets';

/**
 * Every environment variable MailDesk reads, validated once at start into one typed object.
 * `.env.sample` lists the same variables; a test keeps the two in step.
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
  database: { url: string | undefined; poolSize: number };
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
  imap: { url: string | undefined; pollSeconds: number; moveTo: string | undefined; idle: boolean };
  /**
   * Service levels: first-response and resolution targets in business minutes (0 = no target),
   * the weekly business hours (null = always open) in `timeZone`, and how often breaches are checked.
   */
  sla: {
    firstResponseMinutes: number;
    resolutionMinutes: number;
    businessHours: WeeklySchedule | null;
    timeZone: string;
    checkSeconds: number;
  };
  /** Satisfaction rating links in the closing mail: base URL of the links and their lifetime. */
  feedback: { publicUrl: string; linkTtlDays: number };
  /** Open requests one operator may hold (0 = unlimited); whether a reassignment mails the customer. */
  assignment: { operatorMaxOpen: number; reassignNotify: boolean };
  /** GET /requests counts matches exactly up to this many (then `total` is this and `totalExact` false); 0 = always exact. */
  queue: { countLimit: number };
  /**
   * The inbound webhook: its token and HMAC secret; authenticated calls received or ingested at once
   * (`maxInFlight`) and the body bytes they may hold together (`maxInFlightBytes`), 503 beyond.
   */
  inbound: { token: string | undefined; hmacSecret: string | undefined; maxInFlight: number; maxInFlightBytes: number };
  admin: { email: string; password: string | undefined };
  auth: { jwtSecret: string | undefined; jwtTtlSeconds: number };
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /** `json` (one JSON object a line), `pretty` (coloured text) or `auto`: pretty on a terminal, JSON otherwise. */
  logFormat: 'json' | 'pretty' | 'auto';
  /** Bearer token GET /metrics requires; undefined = /metrics is public. */
  metricsToken: string | undefined;
  /**
   * Background work started at bootstrap: the IMAP poller, the outbox dispatcher and the first-admin
   * seeding. Always true from the environment; the CLI (src/cli.ts) sets it false.
   */
  workers: boolean;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, def?: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? def : v.trim();
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return Number(raw);
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false (got "${raw}")`);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL like ${protocols[0]}//host:port (got an unparsable value)`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(
      `${name} must start with ${protocols.map((p) => p + '//').join(' or ')} (got ${parsed.protocol}//)`,
    );
  }
  return raw;
}

const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * TRUST_PROXY: off unless set; a comma list of `loopback`, `linklocal`, `uniquelocal`, IP addresses
 * and CIDR ranges, handed to Fastify's `trustProxy` (only those proxies may set X-Forwarded-For).
 */
function trustProxy(env: Env): string[] | false {
  const raw = str(env, 'TRUST_PROXY');
  if (raw === undefined || /^(0|false|no|off)$/i.test(raw)) return false;
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    const [ip, bits, extra] = item.split('/');
    const family = net.isIP(ip);
    const okCidr = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!PROXY_NAMES.includes(item) && (!family || !okCidr || extra !== undefined)) {
      throw new ConfigError(
        `TRUST_PROXY must be a comma list of loopback, linklocal, uniquelocal, IPs or CIDR ranges (got "${item}")`,
      );
    }
  }
  return items.length ? items : false;
}

function email(env: Env, name: string, def: string): string {
  const v = str(env, name, def)!;
  if (!EMAIL.test(v)) throw new ConfigError(`${name} must be an email address (got "${v}")`);
  return v.toLowerCase();
}

const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
const LOG_FORMATS = ['json', 'pretty', 'auto'] as const;

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

/** Validates the environment; throws ConfigError naming the variable and what is expected. */
export function loadConfig(env: Env = process.env): AppConfig {
  const supportAddress = email(env, 'SUPPORT_ADDRESS', 'support@localhost');
  const logLevel = str(env, 'LOG_LEVEL', 'log')!;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }
  const logFormat = str(env, 'LOG_FORMAT', 'auto')!;
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new ConfigError(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')} (got "${logFormat}")`);
  }
  const metricsToken = str(env, 'METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN must be at least 16 characters');
  }
  const jwtSecret = str(env, 'JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 16) {
    throw new ConfigError('JWT_SECRET must be at least 16 characters');
  }
  const inboundToken = str(env, 'INBOUND_TOKEN');
  if (inboundToken !== undefined && inboundToken.length < 16) {
    throw new ConfigError('INBOUND_TOKEN must be at least 16 characters');
  }
  const hmacSecret = str(env, 'INBOUND_HMAC_SECRET');
  if (hmacSecret !== undefined && hmacSecret.length < 16) {
    throw new ConfigError('INBOUND_HMAC_SECRET must be at least 16 characters');
  }
  const adminPassword = str(env, 'ADMIN_PASSWORD');
  const port = int(env, 'PORT', 3000, 0, 65535);
  const timeZone = str(env, 'BUSINESS_TIMEZONE', 'UTC')!;
  if (!isTimeZone(timeZone))
    throw new ConfigError(`BUSINESS_TIMEZONE must be an IANA time zone like Europe/Berlin (got "${timeZone}")`);
  let businessHours: WeeklySchedule | null;
  try {
    businessHours = parseBusinessHours(str(env, 'BUSINESS_HOURS'));
  } catch (e) {
    throw new ConfigError(`BUSINESS_HOURS must look like "Mon-Fri 09:00-17:00" (${(e as Error).message})`);
  }
  const publicUrl = url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://127.0.0.1:${port}`;
  if (adminPassword !== undefined && adminPassword.length < 8) {
    throw new ConfigError('ADMIN_PASSWORD must be at least 8 characters');
  }
  // Placeholder, sample and guessable secrets are refused (the rule: placeholder-secrets.ts).
  const given = { jwtSecret, inboundToken, hmacSecret, metricsToken, adminPassword };
  const names = ['JWT_SECRET', 'INBOUND_TOKEN', 'INBOUND_HMAC_SECRET', 'METRICS_TOKEN', 'ADMIN_PASSWORD'];
  Object.values(given).forEach((value, i) => {
    const refused = placeholderMessage(names[i], value);
    if (refused) throw new ConfigError(refused);
  });
  return {
    http: {
      port,
      host: str(env, 'HOST', '127.0.0.1')!,
      corsOrigins: (str(env, 'CORS_ORIGINS') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
    trustProxy: trustProxy(env),
    rateLimit: {
      loginPerMinute: int(env, 'LOGIN_RATE_LIMIT', 20, 0, 1_000_000),
      loginFailuresPerAccount: int(env, 'LOGIN_ACCOUNT_RATE_LIMIT', 10, 0, 1_000_000),
      webhookPerMinute: int(env, 'WEBHOOK_RATE_LIMIT', 0, 0, 10_000_000),
      webhookFailuresPerMinute: int(env, 'WEBHOOK_FAILURE_RATE_LIMIT', 30, 0, 10_000_000),
    },
    dataDir: path.resolve(str(env, 'DATA_DIR', './data')!),
    database: {
      url: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
      poolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    },
    smtp: {
      url: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
      connectionTimeoutMs: int(env, 'SMTP_CONNECTION_TIMEOUT_MS', 10000, 100, 600000),
      greetingTimeoutMs: int(env, 'SMTP_GREETING_TIMEOUT_MS', 10000, 100, 600000),
      socketTimeoutMs: int(env, 'SMTP_SOCKET_TIMEOUT_MS', 60000, 100, 3600000),
    },
    mail: {
      supportAddress,
      supportName: str(env, 'SUPPORT_NAME', 'MailDesk Support')!,
      messageIdDomain: (str(env, 'MESSAGE_ID_DOMAIN') ?? supportAddress.split('@')[1]).toLowerCase(),
      templatesDir: str(env, 'TEMPLATES_DIR') ? path.resolve(str(env, 'TEMPLATES_DIR')!) : undefined,
      autoReplyLimitPerHour: int(env, 'AUTO_REPLY_LIMIT_PER_HOUR', 10, 0, 100000),
      maxInboundBytes: int(env, 'INBOUND_MAX_BYTES', 25 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      parseTimeoutMs: int(env, 'MAIL_PARSE_TIMEOUT_MS', 10000, 50, 600000),
      ingestBytes: int(env, 'INBOUND_INGEST_BYTES', 32 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      parseWorkers: int(env, 'MAIL_PARSE_WORKERS', 0, 0, 64),
    },
    outbox: {
      pollMs: int(env, 'OUTBOX_POLL_MS', 1000, 10, 600000),
      maxAttempts: int(env, 'OUTBOX_MAX_ATTEMPTS', 10, 1, 1000),
      batchSize: int(env, 'OUTBOX_BATCH_SIZE', 20, 1, 1000),
      retryBaseMs: int(env, 'OUTBOX_RETRY_BASE_MS', 5000, 10, 3600000),
    },
    attachments: { maxBytes: int(env, 'ATTACHMENT_MAX_BYTES', 10 * 1024 * 1024, 1, 100 * 1024 * 1024), maxFiles: 10 },
    webhooks: {
      timeoutMs: int(env, 'WEBHOOK_DELIVERY_TIMEOUT_MS', 10000, 100, 120000),
      maxAttempts: int(env, 'WEBHOOK_DELIVERY_MAX_ATTEMPTS', 10, 1, 1000),
      retryBaseMs: int(env, 'WEBHOOK_DELIVERY_RETRY_BASE_MS', 5000, 10, 3600000),
      allowPrivateTargets: bool(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', false),
    },
    imap: {
      url: url(env, 'IMAP_URL', ['imap:', 'imaps:']),
      pollSeconds: int(env, 'IMAP_POLL_SECONDS', 30, 1, 86400),
      moveTo: str(env, 'IMAP_MOVE_TO'),
      idle: bool(env, 'IMAP_IDLE', true),
    },
    sla: {
      firstResponseMinutes: int(env, 'SLA_FIRST_RESPONSE_MINUTES', 240, 0, 525_600),
      resolutionMinutes: int(env, 'SLA_RESOLUTION_MINUTES', 2880, 0, 525_600),
      businessHours,
      timeZone,
      checkSeconds: int(env, 'SLA_CHECK_SECONDS', 30, 1, 3600),
    },
    feedback: { publicUrl: publicUrl.replace(/\/+$/, ''), linkTtlDays: int(env, 'RATING_LINK_TTL_DAYS', 30, 1, 3650) },
    assignment: {
      operatorMaxOpen: int(env, 'OPERATOR_MAX_OPEN', 0, 0, 1_000_000),
      reassignNotify: bool(env, 'REASSIGN_NOTIFY', false),
    },
    queue: { countLimit: int(env, 'REQUESTS_COUNT_LIMIT', 1_000, 0, 100_000_000) },
    inbound: {
      token: inboundToken,
      hmacSecret,
      maxInFlight: int(env, 'INBOUND_MAX_IN_FLIGHT', 256, 1, 100_000),
      maxInFlightBytes: int(env, 'INBOUND_MAX_IN_FLIGHT_BYTES', 128 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    },
    admin: { email: email(env, 'ADMIN_EMAIL', 'admin@localhost'), password: adminPassword },
    auth: { jwtSecret, jwtTtlSeconds: int(env, 'JWT_TTL_SECONDS', 12 * 3600, 60, 30 * 24 * 3600) },
    logLevel: logLevel as AppConfig['logLevel'],
    logFormat: logFormat as AppConfig['logFormat'],
    metricsToken,
    workers: true,
  };
}

/** The variables loadConfig reads, for the `.env.sample` consistency test. */
export const CONFIG_VARIABLES = [
  'PORT',
  'HOST',
  'CORS_ORIGINS',
  'TRUST_PROXY',
  'LOGIN_RATE_LIMIT',
  'LOGIN_ACCOUNT_RATE_LIMIT',
  'WEBHOOK_RATE_LIMIT',
  'WEBHOOK_FAILURE_RATE_LIMIT',
  'DATA_DIR',
  'DATABASE_URL',
  'DATABASE_POOL_SIZE',
  'SMTP_URL',
  'SMTP_CONNECTION_TIMEOUT_MS',
  'SMTP_GREETING_TIMEOUT_MS',
  'SMTP_SOCKET_TIMEOUT_MS',
  'SUPPORT_ADDRESS',
  'SUPPORT_NAME',
  'MESSAGE_ID_DOMAIN',
  'TEMPLATES_DIR',
  'AUTO_REPLY_LIMIT_PER_HOUR',
  'INBOUND_MAX_BYTES',
  'MAIL_PARSE_TIMEOUT_MS',
  'INBOUND_INGEST_BYTES',
  'MAIL_PARSE_WORKERS',
  'OUTBOX_POLL_MS',
  'OUTBOX_MAX_ATTEMPTS',
  'OUTBOX_BATCH_SIZE',
  'OUTBOX_RETRY_BASE_MS',
  'ATTACHMENT_MAX_BYTES',
  'WEBHOOK_DELIVERY_TIMEOUT_MS',
  'WEBHOOK_DELIVERY_MAX_ATTEMPTS',
  'WEBHOOK_DELIVERY_RETRY_BASE_MS',
  'WEBHOOK_ALLOW_PRIVATE_TARGETS',
  'IMAP_URL',
  'IMAP_POLL_SECONDS',
  'IMAP_MOVE_TO',
  'IMAP_IDLE',
  'INBOUND_TOKEN',
  'INBOUND_HMAC_SECRET',
  'INBOUND_MAX_IN_FLIGHT',
  'INBOUND_MAX_IN_FLIGHT_BYTES',
  'SLA_FIRST_RESPONSE_MINUTES',
  'SLA_RESOLUTION_MINUTES',
  'SLA_CHECK_SECONDS',
  'BUSINESS_HOURS',
  'BUSINESS_TIMEZONE',
  'PUBLIC_URL',
  'RATING_LINK_TTL_DAYS',
  'OPERATOR_MAX_OPEN',
  'REASSIGN_NOTIFY',
  'REQUESTS_COUNT_LIMIT',
  'ADMIN_EMAIL',
  'ADMIN_PASSWORD',
  'JWT_SECRET',
  'JWT_TTL_SECONDS',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'METRICS_TOKEN',
] as const;
