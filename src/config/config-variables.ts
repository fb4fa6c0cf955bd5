import * as net from 'node:net';
import * as path from 'node:path';
import { isAddress } from '../common/addresses';
import { DATABASE_POOLERS, PREPARED_STATEMENT_MODES } from '../database/pooler';
import { parseKeyList } from '../mailboxes/secret-box';
import { isTimeZone, parseBusinessHours } from '../sla/business-hours';
import { placeholderMessage } from './placeholder-secrets';

/**
 * Every environment variable MailDesk reads, declared once: its section, what it does, its default,
 * what it accepts and how it is read. loadConfig (config.ts) reads the environment through this
 * table; `npm run config:docs` writes `.env.sample` and the reference section of
 * docs/configuration.md from it (config-reference.ts), and a test fails when either is stale.
 * Adding a variable: an entry here, then the field of AppConfig that loadConfig fills from it.
 */

export class ConfigError extends Error {}

/** One variable of the table. */
export interface ConfigVariable<T> {
  /** Where it is listed in `.env.sample` and docs/configuration.md. */
  section: string;
  /** One line: what it does (the comment above it in `.env.sample`). */
  description: string;
  /** The value `.env.sample` gives it, as written there ('' = unset). */
  default: string;
  /** What an unset (or empty) value means, when that is not a literal default. */
  empty?: string;
  /** What it accepts, in words (the reference's `accepts` column). */
  accepts: string;
  /** Reads the value: `raw` is trimmed, undefined when unset or blank. Throws ConfigError naming the variable. */
  parse: (raw: string | undefined, name: string) => T;
}

/** What a builder gives: the parts of a variable that follow from its type. */
type Kind<T> = Pick<ConfigVariable<T>, 'default' | 'accepts' | 'parse'>;

/** An integer from `min` to `max`, `def` when unset. */
function int(def: number, min: number, max: number): Kind<number> {
  return {
    default: String(def),
    accepts: `integer ${min}-${max}`,
    parse(raw, name) {
      if (raw === undefined) return def;
      if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
        throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      }
      return Number(raw);
    },
  };
}

/** An integer from `min` to `max`, or undefined when unset (`empty` says what that means). */
function optionalInt(min: number, max: number): Kind<number | undefined> {
  const { accepts, parse } = int(0, min, max);
  return { default: '', accepts, parse: (raw, name) => (raw === undefined ? undefined : parse(raw, name)) };
}

/** true/false (also 1/0, yes/no, on/off), `def` when unset. */
function bool(def: boolean): Kind<boolean> {
  return {
    default: String(def),
    accepts: '`true` or `false`',
    parse(raw, name) {
      if (raw === undefined) return def;
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(`${name} must be true or false (got "${raw}")`);
    },
  };
}

/** Text as given, `def` when unset. */
function text(def: string): Kind<string>;
function text(): Kind<string | undefined>;
function text(def?: string): Kind<string | undefined> {
  return { default: def ?? '', accepts: 'text', parse: (raw) => raw ?? def };
}

/** A directory, resolved against the working directory. */
function dir(def: string): Kind<string>;
function dir(): Kind<string | undefined>;
function dir(def?: string): Kind<string | undefined> {
  return {
    default: def ?? '',
    accepts: 'path',
    parse: (raw) => (raw ?? def) && path.resolve((raw ?? def)!),
  };
}

/** A URL with one of `protocols` (`postgres:`), kept as given; undefined when unset. */
function url(...protocols: string[]): Kind<string | undefined> {
  return {
    default: '',
    accepts: `${protocols.map((p) => `\`${p}//\``).join(' or ')} URL`,
    parse(raw, name) {
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
    },
  };
}

/** An email address, lower-cased; `def` when unset. */
function email(def: string): Kind<string> {
  return {
    default: def,
    accepts: 'email address',
    parse(raw, name) {
      const v = raw ?? def;
      if (!isAddress(v)) throw new ConfigError(`${name} must be an email address (got "${v}")`);
      return v.toLowerCase();
    },
  };
}

/**
 * A secret: at least `minLength` characters, and no placeholder, sample or guessable value
 * (placeholder-secrets.ts). Never named in a message by its value.
 */
function secret(minLength: number): Kind<string | undefined> {
  return {
    default: '',
    accepts: `secret, ${minLength}+ characters`,
    parse(raw, name) {
      if (raw === undefined) return undefined;
      if (raw.length < minLength) throw new ConfigError(`${name} must be at least ${minLength} characters`);
      const refused = placeholderMessage(name, raw);
      if (refused) throw new ConfigError(refused);
      return raw;
    },
  };
}

/**
 * ENCRYPTION_KEY: comma-separated 32-byte keys (64 hex characters or base64), the first seals;
 * kept as given (mailboxes/secret-box.ts reads them). Never named in a message by its value.
 */
function encryptionKeys(): Kind<string[] | undefined> {
  return {
    default: '',
    accepts: 'comma list of 64-hex-character (or base64) 32-byte keys',
    parse(raw, name) {
      if (raw === undefined) return undefined;
      let keys: Buffer[];
      try {
        keys = parseKeyList(raw);
      } catch (e) {
        throw new ConfigError(`${name}: ${(e as Error).message}`);
      }
      // A key of one repeated byte (000..., fff...) is a placeholder, not a key.
      if (keys.some((k) => k.every((b) => b === k[0]))) {
        throw new ConfigError(
          `${name}: a key of one repeated byte is a placeholder; generate one: openssl rand -hex 32`,
        );
      }
      return raw
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);
    },
  };
}

/** One of `values`, `def` when unset. */
function oneOf<const V extends readonly string[]>(values: V, def: V[number]): Kind<V[number]> {
  return {
    default: def,
    accepts: values.map((v) => `\`${v}\``).join(', '),
    parse(raw, name) {
      const v = raw ?? def;
      if (!values.includes(v)) throw new ConfigError(`${name} must be one of ${values.join(', ')} (got "${v}")`);
      return v;
    },
  };
}

/** A comma list, blanks dropped; empty when unset. */
function list(): Kind<string[]> {
  return {
    default: '',
    accepts: 'comma list',
    parse: (raw) =>
      (raw ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
  };
}

/** DATABASE_REPLICA_URLS: a comma list of postgres:// URLs; empty when unset. */
function postgresUrls(): Kind<string[]> {
  return {
    default: '',
    accepts: 'comma list of `postgres://` URLs',
    parse(raw, name) {
      const items = list().parse(raw, name);
      for (const item of items) url('postgres:', 'postgresql:').parse(item, name);
      return items;
    },
  };
}

/** SES_SNS_TOPIC_ARNS: a comma list of SNS topic ARNs (`arn:aws:sns:<region>:<account>:<name>`); empty when unset. */
function snsTopics(): Kind<string[]> {
  return {
    default: '',
    accepts: 'comma list of SNS topic ARNs',
    parse(raw, name) {
      const items = list().parse(raw, name);
      for (const item of items) {
        if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]{1,32}:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(item)) {
          throw new ConfigError(
            `${name} must list SNS topic ARNs like arn:aws:sns:us-east-1:123456789012:inbound (got "${item}")`,
          );
        }
      }
      return items;
    },
  };
}

/**
 * SNS_EXTRA_URL_PREFIXES: a comma list of http(s) URL prefixes, each a whole origin and a path
 * ending in `/` (no user, query or fragment), so a prefix never matches a host it does not name.
 */
function urlPrefixes(): Kind<string[]> {
  return {
    default: '',
    accepts: 'comma list of http(s)://host:port/path/ prefixes',
    parse(raw, name) {
      const items = list().parse(raw, name);
      for (const item of items) {
        let u: URL | undefined;
        try {
          u = new URL(item);
        } catch {
          u = undefined;
        }
        if (
          !u ||
          (u.protocol !== 'http:' && u.protocol !== 'https:') ||
          u.username ||
          u.password ||
          u.search ||
          u.hash ||
          !item.endsWith('/') ||
          u.href !== item
        ) {
          throw new ConfigError(`${name} must list prefixes like http://127.0.0.1:8080/sns/ (got "${item}")`);
        }
      }
      return items;
    },
  };
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * TRUST_PROXY: off unless set; a comma list of `loopback`, `linklocal`, `uniquelocal`, IP addresses
 * and CIDR ranges, handed to Fastify's `trustProxy` (only those proxies may set X-Forwarded-For).
 */
function proxies(): Kind<string[] | false> {
  return {
    default: '',
    accepts: '`loopback`, `linklocal`, `uniquelocal`, IPs and CIDR ranges (comma list)',
    parse(raw) {
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
    },
  };
}

/** BUSINESS_HOURS: a weekly schedule (sla/business-hours.ts); null (always open) when unset. */
function schedule(): Kind<ReturnType<typeof parseBusinessHours>> {
  return {
    default: '',
    accepts: 'days and hours, `;` between groups',
    parse(raw) {
      try {
        return parseBusinessHours(raw);
      } catch (e) {
        throw new ConfigError(`BUSINESS_HOURS must look like "Mon-Fri 09:00-17:00" (${(e as Error).message})`);
      }
    },
  };
}

/** A listening address: where a server listens. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port` (`[::1]:2525` for IPv6; port 0 = any free port), undefined when unset. */
function listenAddress(): Kind<ListenAddress | undefined> {
  return {
    default: '',
    accepts: '`host:port`',
    parse(raw, name) {
      if (raw === undefined) return undefined;
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(raw);
      const port = m ? Number(m[3]) : NaN;
      if (!m || port > 65535) {
        throw new ConfigError(`${name} must be host:port, like 0.0.0.0:25 or [::1]:2525 (got "${raw}")`);
      }
      return { host: m[1] ?? m[2], port };
    },
  };
}

/** A file path, resolved against the working directory; undefined when unset. */
function file(): Kind<string | undefined> {
  return { default: '', accepts: 'file path', parse: (raw) => raw && path.resolve(raw) };
}

/** An IANA time zone, `def` when unset. */
function timeZone(def: string): Kind<string> {
  return {
    default: def,
    accepts: 'IANA time zone',
    parse(raw, name) {
      const v = raw ?? def;
      if (!isTimeZone(v)) throw new ConfigError(`${name} must be an IANA time zone like Europe/Berlin (got "${v}")`);
      return v;
    },
  };
}

/** How automatic assignment picks an operator (groups.assignment, AUTO_ASSIGNMENT). */
export const ASSIGNMENT_MODES = ['off', 'round_robin', 'least_loaded'] as const;
export type AssignmentMode = (typeof ASSIGNMENT_MODES)[number];
export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export const LOG_FORMATS = ['json', 'pretty', 'auto'] as const;

const HTTP = 'HTTP';
const STORAGE = 'Storage';
const MAIL_IN = 'Inbound mail';
const WEBHOOK_IN = 'Inbound webhook';
const SMTP_IN = 'SMTP and LMTP listeners';
const MAIL_OUT = 'Outbound mail';
const WEBHOOKS_OUT = 'Outgoing webhooks';
const DESK = 'Service levels, ratings, assignment, the queue';
const OPERATORS = 'Operators';
const LOGS = 'Logs and metrics';

/** The table: every variable, in the order `.env.sample` and the reference list them. */
export const CONFIG_TABLE = {
  PORT: { section: HTTP, description: 'HTTP port', ...int(3000, 0, 65535) },
  HOST: {
    section: HTTP,
    description: 'Address to bind (0.0.0.0 to listen on every interface, e.g. in a container)',
    ...text('127.0.0.1'),
  },
  CORS_ORIGINS: {
    section: HTTP,
    description: 'Comma-separated origins allowed by CORS',
    empty: 'CORS off',
    ...list(),
  },
  TRUST_PROXY: {
    section: HTTP,
    description: 'Proxies trusted to give the client IP in X-Forwarded-For',
    empty: "off, the client IP is the socket's",
    ...proxies(),
  },
  LOGIN_RATE_LIMIT: {
    section: HTTP,
    description: 'Login attempts per client IP per minute (429 beyond); 0 = no limit',
    ...int(20, 0, 1_000_000),
  },
  LOGIN_ACCOUNT_RATE_LIMIT: {
    section: HTTP,
    description:
      'Failed logins per account from one client address per 15 minutes before that address gets 429 for that account (other addresses are only slowed, up to 8 s an attempt, once the account has this many failures from all); 0 = no limit',
    ...int(10, 0, 1_000_000),
  },

  DATA_DIR: {
    section: STORAGE,
    description: 'Where the embedded database, generated secrets and the file outbox live',
    ...dir('./data'),
  },
  BLOB_STORE_URL: {
    section: STORAGE,
    description:
      'Where raw mail and attachments are stored, by SHA-256: `s3://bucket/optional-prefix` for S3-compatible storage (docs/storage.md)',
    empty: 'the filesystem, under DATA_DIR/blobs',
    ...url('s3:'),
  },
  BLOB_STORE_ENDPOINT: {
    section: STORAGE,
    description: 'The S3 endpoint URL for MinIO, Ceph, R2 and other S3-compatible servers (with BLOB_STORE_URL)',
    empty: 'AWS S3 for BLOB_STORE_REGION',
    ...url('http:', 'https:'),
  },
  BLOB_STORE_REGION: {
    section: STORAGE,
    description: 'The S3 region (with BLOB_STORE_URL)',
    ...text('us-east-1'),
  },
  BLOB_STORE_FORCE_PATH_STYLE: {
    section: STORAGE,
    description: 'Path-style S3 URLs (endpoint/bucket/key), as MinIO and most S3-compatible servers need',
    ...bool(false),
  },
  BLOB_STORE_ACCESS_KEY_ID: {
    section: STORAGE,
    description: 'The S3 access key id (with BLOB_STORE_SECRET_ACCESS_KEY)',
    empty: "the AWS SDK's default chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, instance role...)",
    ...text(),
  },
  BLOB_STORE_SECRET_ACCESS_KEY: {
    section: STORAGE,
    description: 'The S3 secret access key (with BLOB_STORE_ACCESS_KEY_ID)',
    empty: "the AWS SDK's default chain",
    ...text(),
  },
  BLOB_SWEEP_GRACE_MINUTES: {
    section: STORAGE,
    description:
      'Minutes a blob that no row names is kept before the sweeper deletes it (longer than any ingest or upload takes)',
    ...int(60, 1, 525_600),
  },
  RAW_MAIL_RETENTION_DAYS: {
    section: STORAGE,
    description:
      'Days the raw mail of processed inbound mail is kept (the request keeps its messages and attachments); 0 = keep forever',
    ...int(0, 0, 36_500),
  },
  QUARANTINE_RETENTION_DAYS: {
    section: STORAGE,
    description: 'Days a quarantined mail (never replayed) is kept before it is deleted; 0 = keep forever',
    ...int(0, 0, 36_500),
  },
  ENCRYPTION_KEY: {
    section: STORAGE,
    description:
      'Keys that encrypt mailbox passwords and OAuth2 secrets at rest (`openssl rand -hex 32`); a comma list: the first encrypts, all decrypt (rotation: docs/mailboxes.md)',
    empty: 'generated, kept in DATA_DIR/encryption.key (mode 0600)',
    ...encryptionKeys(),
  },
  DATABASE_URL: {
    section: STORAGE,
    description: 'A real PostgreSQL, postgres://user:pass@host:5432/db (migrations run at start)',
    empty: 'embedded PostgreSQL in DATA_DIR/pgdata',
    ...url('postgres:', 'postgresql:'),
  },
  DATABASE_POOL_SIZE: {
    section: STORAGE,
    description:
      'Connections in the pool (on a 2-core server shared with PostgreSQL, API reads did best with 4 and mail bursts with 16: bench/results/history.md, change 17)',
    ...int(10, 1, 200),
  },
  DATABASE_POOLER: {
    section: STORAGE,
    description:
      'pgbouncer: DATABASE_URL is PgBouncer in transaction mode (docs/pgbouncer.md): no startup options, named statements off (DATABASE_PREPARED_STATEMENTS=auto), sessions (leadership locks, LISTEN, migrations) on DATABASE_DIRECT_URL',
    ...oneOf(DATABASE_POOLERS, 'none'),
  },
  DATABASE_DIRECT_URL: {
    section: STORAGE,
    description:
      'PostgreSQL itself (or a session-mode pool), for what needs a session of its own: the IMAP leadership locks, LISTEN of live events, the migrations; required with DATABASE_POOLER=pgbouncer',
    empty: 'DATABASE_URL',
    ...url('postgres:', 'postgresql:'),
  },
  DATABASE_PREPARED_STATEMENTS: {
    section: STORAGE,
    description:
      'Named prepared statements for the hot reads (auto: on, off with DATABASE_POOLER=pgbouncer; on behind PgBouncer needs 1.21+ with max_prepared_statements)',
    ...oneOf(PREPARED_STATEMENT_MODES, 'auto'),
  },
  DATABASE_REPLICA_URLS: {
    section: STORAGE,
    description:
      'Streaming standbys for lists, searches, reports and exports, comma-separated postgres:// URLs (needs DATABASE_URL; docs/replicas.md)',
    empty: 'none: every read on DATABASE_URL',
    ...postgresUrls(),
  },
  DATABASE_REPLICA_MAX_LAG_MS: {
    section: STORAGE,
    description:
      'A standby further behind the primary than this (measured by the app every second) is skipped until it catches up',
    ...int(5000, 100, 3_600_000),
  },
  DATABASE_REPLICA_POOL_SIZE: {
    section: STORAGE,
    description: 'Connections in the pool of each standby',
    ...int(5, 1, 200),
  },

  IMAP_URL: {
    section: MAIL_IN,
    description: 'The mailbox to import from: imap://user:pass@host:143/INBOX or imaps://user:pass@host:993/INBOX',
    empty: 'no polling',
    ...url('imap:', 'imaps:'),
  },
  IMAP_POLL_SECONDS: {
    section: MAIL_IN,
    description: 'Polling fallback interval (seconds) besides IMAP IDLE',
    ...int(30, 1, 86400),
  },
  IMAP_MOVE_TO: {
    section: MAIL_IN,
    description: 'Folder to move imported mail to',
    empty: 'leave it in the mailbox, flagged \\Seen',
    ...text(),
  },
  IMAP_IDLE: { section: MAIL_IN, description: 'Use IMAP IDLE for push', ...bool(true) },
  IMAP_NOOP_MS: {
    section: MAIL_IN,
    description:
      'Instead of IDLE, ask each mailbox with a NOOP every this many ms (0: off). Hears of new mail within that time where IDLE waits for the server (Dovecot tells an idling client 0.5 s late); costs that many commands to the server. For a server of your own, not for Gmail or Microsoft 365',
    ...int(0, 0, 60_000),
  },
  INBOUND_MAX_BYTES: {
    section: MAIL_IN,
    description: 'Largest email accepted (bytes): 413 on the webhook, quarantine on IMAP',
    ...int(25 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  },
  MAIL_PARSE_TIMEOUT_MS: {
    section: MAIL_IN,
    description:
      'Deadline for parsing one email (ms); past it the parsing thread is replaced and the email quarantined with reason "parse timeout"',
    ...int(10000, 50, 600000),
  },
  MAIL_PARSE_WORKERS: {
    section: MAIL_IN,
    description: 'Threads that parse email off the event loop (0 = one per CPU core but one, at least one)',
    ...int(0, 0, 64),
  },
  INBOUND_INGEST_BYTES: {
    section: MAIL_IN,
    description: 'Raw bytes of email parsed and stored at once (bounds memory; one email always fits, others wait)',
    ...int(32 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  },

  INBOUND_TOKEN: {
    section: WEBHOOK_IN,
    description:
      'Secret of the inbound webhook (random: `openssl rand -hex 32`; placeholder or sample values are refused)',
    empty: 'generated, kept in DATA_DIR/secrets.json (mode 0600), printed once (at the start that generates it)',
    ...secret(16),
  },
  INBOUND_HMAC_SECRET: {
    section: WEBHOOK_IN,
    description:
      'Webhook HMAC secret (random: `openssl rand -hex 32`); when set, X-MailDesk-Timestamp and X-MailDesk-Signature are required (docs/security.md)',
    empty: 'no signature',
    ...secret(16),
  },
  MAILGUN_SIGNING_KEY: {
    section: WEBHOOK_IN,
    description:
      "Mailgun's HTTP webhook signing key: POST /inbound/mailgun verifies each call's signature (HMAC-SHA256 of timestamp + token) with it (docs/ways-in.md)",
    empty: 'POST /inbound/mailgun answers 503 (not configured)',
    ...secret(16),
  },
  INBOUND_MAX_IN_FLIGHT: {
    section: WEBHOOK_IN,
    description: 'Authenticated webhook calls being received or ingested at once; beyond, 503 with Retry-After',
    ...int(256, 1, 100_000),
  },
  INBOUND_MAX_IN_FLIGHT_BYTES: {
    section: WEBHOOK_IN,
    description:
      'Body bytes those calls may hold together (Content-Length, or the size limit when compressed or chunked); beyond, 503 (one call always fits)',
    ...int(128 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
  },
  WEBHOOK_RATE_LIMIT: {
    section: WEBHOOK_IN,
    description:
      'Webhook calls per client IP per minute, authenticated or not (429 beyond); 0 = no limit (authenticated callers get 503 backpressure instead)',
    ...int(0, 0, 10_000_000),
  },
  WEBHOOK_FAILURE_RATE_LIMIT: {
    section: WEBHOOK_IN,
    description:
      'Webhook calls failing their credentials (token, signature) per client IP per minute; beyond, 429 before the body is read; 0 = no limit',
    ...int(30, 0, 10_000_000),
  },

  SMTP_LISTEN: {
    section: SMTP_IN,
    description:
      "Receive mail over SMTP for the mailboxes' addresses and aliases (docs/ways-in.md), e.g. 0.0.0.0:25; only instances that run the background workers listen",
    empty: 'no SMTP listener',
    ...listenAddress(),
  },
  LMTP_LISTEN: {
    section: SMTP_IN,
    description: 'Receive mail over LMTP (from the local mail server, e.g. Postfix), e.g. 127.0.0.1:24',
    empty: 'no LMTP listener',
    ...listenAddress(),
  },
  SMTP_TLS_CERT: {
    section: SMTP_IN,
    description: 'PEM certificate (chain) the listeners offer with STARTTLS; set with SMTP_TLS_KEY',
    empty: 'no STARTTLS',
    ...file(),
  },
  SMTP_TLS_KEY: {
    section: SMTP_IN,
    description: 'PEM private key of SMTP_TLS_CERT',
    empty: 'no STARTTLS',
    ...file(),
  },
  SMTP_MAX_CONNECTIONS: {
    section: SMTP_IN,
    description: 'Connections one listener serves at once; beyond, 421',
    ...int(100, 1, 100_000),
  },
  SMTP_MAX_CONNECTIONS_PER_IP: {
    section: SMTP_IN,
    description: 'Connections from one client address at once, per listener; beyond, 421 4.7.0',
    ...int(10, 1, 100_000),
  },
  SMTP_MAX_RECIPIENTS: {
    section: SMTP_IN,
    description:
      'Recipients of one mail (RCPT TO); beyond, 452 4.5.3 (the sender sends the rest in another transaction)',
    ...int(100, 1, 10_000),
  },
  SMTP_LISTEN_TIMEOUT_MS: {
    section: SMTP_IN,
    description: 'A listener closes a connection idle this long (ms)',
    ...int(120_000, 1000, 3_600_000),
  },
  SES_SNS_TOPIC_ARNS: {
    section: WEBHOOK_IN,
    description:
      'Amazon SNS topics whose messages POST /inbound/ses accepts (Amazon SES receipts; docs/ways-in.md): only these subscriptions are confirmed',
    empty: 'POST /inbound/ses refuses every message (403)',
    ...snsTopics(),
  },
  SNS_EXTRA_URL_PREFIXES: {
    section: WEBHOOK_IN,
    description:
      'Tests only: URL prefixes (http://127.0.0.1:8080/sns/) trusted besides https://sns.<region>.amazonaws.com for SNS certificates and SubscribeURLs, plain http included; never set in production (a warning is logged at start)',
    empty: 'only https://sns.<region>.amazonaws.com(.cn)',
    ...urlPrefixes(),
  },

  SMTP_URL: {
    section: MAIL_OUT,
    description: 'smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465',
    empty: '.eml files in DATA_DIR/outbox',
    ...url('smtp:', 'smtps:'),
  },
  SMTP_CONNECTION_TIMEOUT_MS: {
    section: MAIL_OUT,
    description: 'SMTP connect timeout (ms)',
    ...int(10000, 100, 600000),
  },
  SMTP_GREETING_TIMEOUT_MS: {
    section: MAIL_OUT,
    description: 'SMTP greeting timeout (ms)',
    ...int(10000, 100, 600000),
  },
  SMTP_SOCKET_TIMEOUT_MS: {
    section: MAIL_OUT,
    description: 'SMTP socket inactivity timeout (ms)',
    ...int(60000, 100, 3600000),
  },
  SUPPORT_ADDRESS: {
    section: MAIL_OUT,
    description: "The desk's address: From of every mail it sends, and the loop guard's own address",
    ...email('support@localhost'),
  },
  SUPPORT_NAME: { section: MAIL_OUT, description: 'Display name on mail the desk sends', ...text('MailDesk Support') },
  MESSAGE_ID_DOMAIN: {
    section: MAIL_OUT,
    description: 'Domain of the Message-IDs the desk creates',
    empty: 'the domain of SUPPORT_ADDRESS',
    ...text(),
  },
  TEMPLATES_DIR: {
    section: MAIL_OUT,
    description: 'Directory whose template files override the built-in auto-reply templates',
    empty: 'the built-in templates',
    ...dir(),
  },
  AUTO_REPLY_LIMIT_PER_HOUR: {
    section: MAIL_OUT,
    description: 'At most this many auto-replies to one address per hour (loop guard)',
    ...int(10, 0, 100000),
  },
  OUTBOX_POLL_MS: {
    section: MAIL_OUT,
    description: 'How often the outbox dispatcher looks for due mail (ms); outgoing webhooks are polled as often',
    ...int(1000, 10, 600000),
  },
  OUTBOX_MAX_ATTEMPTS: {
    section: MAIL_OUT,
    description: 'Attempts before an outgoing mail is marked failed',
    ...int(10, 1, 1000),
  },
  OUTBOX_BATCH_SIZE: {
    section: MAIL_OUT,
    description: 'Outgoing mails claimed per dispatch round',
    ...int(20, 1, 1000),
  },
  OUTBOX_RETRY_BASE_MS: {
    section: MAIL_OUT,
    description: 'First retry delay (ms); doubles with each attempt, with jitter, up to one hour',
    ...int(5000, 10, 3600000),
  },
  ATTACHMENT_MAX_BYTES: {
    section: MAIL_OUT,
    description: 'Largest file an operator may attach to a message (bytes; at most 10 files a message)',
    ...int(10 * 1024 * 1024, 1, 100 * 1024 * 1024),
  },

  WEBHOOK_DELIVERY_TIMEOUT_MS: {
    section: WEBHOOKS_OUT,
    description: 'How long one delivery call may take (ms)',
    ...int(10000, 100, 120000),
  },
  WEBHOOK_DELIVERY_MAX_ATTEMPTS: {
    section: WEBHOOKS_OUT,
    description: 'Attempts before a webhook delivery is marked failed',
    ...int(10, 1, 1000),
  },
  WEBHOOK_DELIVERY_RETRY_BASE_MS: {
    section: WEBHOOKS_OUT,
    description: 'First retry delay of a webhook delivery (ms); doubles with each attempt, with jitter, up to one hour',
    ...int(5000, 10, 3600000),
  },
  WEBHOOK_ALLOW_PRIVATE_TARGETS: {
    section: WEBHOOKS_OUT,
    description:
      'Let outgoing webhooks reach loopback, private, link-local and other internal addresses; off: refused at registration (a literal IP) and when connecting (every address a name resolves to)',
    ...bool(false),
  },

  SLA_FIRST_RESPONSE_MINUTES: {
    section: DESK,
    description: 'First-response target in business minutes from creation; 0 = no target',
    ...int(240, 0, 525_600),
  },
  SLA_RESOLUTION_MINUTES: {
    section: DESK,
    description: 'Resolution (closing) target in business minutes from creation; 0 = no target',
    ...int(2880, 0, 525_600),
  },
  SLA_FIRST_RESPONSE_MINUTES_URGENT: {
    section: DESK,
    description: 'First-response target of urgent-priority requests in business minutes; 0 = no target',
    empty: 'SLA_FIRST_RESPONSE_MINUTES',
    ...optionalInt(0, 525_600),
  },
  SLA_FIRST_RESPONSE_MINUTES_HIGH: {
    section: DESK,
    description: 'First-response target of high-priority requests in business minutes; 0 = no target',
    empty: 'SLA_FIRST_RESPONSE_MINUTES',
    ...optionalInt(0, 525_600),
  },
  SLA_FIRST_RESPONSE_MINUTES_LOW: {
    section: DESK,
    description: 'First-response target of low-priority requests in business minutes; 0 = no target',
    empty: 'SLA_FIRST_RESPONSE_MINUTES',
    ...optionalInt(0, 525_600),
  },
  SLA_RESOLUTION_MINUTES_URGENT: {
    section: DESK,
    description: 'Resolution target of urgent-priority requests in business minutes; 0 = no target',
    empty: 'SLA_RESOLUTION_MINUTES',
    ...optionalInt(0, 525_600),
  },
  SLA_RESOLUTION_MINUTES_HIGH: {
    section: DESK,
    description: 'Resolution target of high-priority requests in business minutes; 0 = no target',
    empty: 'SLA_RESOLUTION_MINUTES',
    ...optionalInt(0, 525_600),
  },
  SLA_RESOLUTION_MINUTES_LOW: {
    section: DESK,
    description: 'Resolution target of low-priority requests in business minutes; 0 = no target',
    empty: 'SLA_RESOLUTION_MINUTES',
    ...optionalInt(0, 525_600),
  },
  SLA_CHECK_SECONDS: {
    section: DESK,
    description: 'How often missed targets are looked for (seconds); each breach writes one sla_breached event',
    ...int(30, 1, 3600),
  },
  BUSINESS_HOURS: {
    section: DESK,
    description: 'Weekly business hours the targets count in, e.g. "Mon-Fri 09:00-17:00; Sat 10:00-14:00"',
    empty: 'always open',
    ...schedule(),
  },
  BUSINESS_TIMEZONE: {
    section: DESK,
    description: 'IANA time zone of BUSINESS_HOURS and the default of report periods, e.g. Europe/Berlin',
    ...timeZone('UTC'),
  },
  PUBLIC_URL: {
    section: DESK,
    description: 'Base URL customers reach MailDesk at, for the rating links in the closing mail',
    empty: 'http://127.0.0.1:PORT',
    ...url('http:', 'https:'),
  },
  OAUTH2_REDIRECT_URL: {
    section: DESK,
    description:
      'Where OAuth2 providers send the admin back after consent (register it at Google / Microsoft as the redirect URI)',
    empty: 'PUBLIC_URL/oauth2/callback',
    ...url('http:', 'https:'),
  },
  RATING_LINK_TTL_DAYS: {
    section: DESK,
    description: 'Days a rating link in the closing mail stays valid',
    ...int(30, 1, 3650),
  },
  OPERATOR_MAX_OPEN: {
    section: DESK,
    description: 'Most requests in progress one operator may hold (409 beyond); 0 = unlimited',
    ...int(0, 0, 1_000_000),
  },
  REASSIGN_NOTIFY: {
    section: DESK,
    description: 'Mail the customer when an admin reassigns their request',
    ...bool(false),
  },
  AUTO_ASSIGNMENT: {
    section: DESK,
    description:
      'Automatic assignment of the requests in no group, among the available operators in no group (each group has its own: PATCH /groups/:id)',
    ...oneOf(ASSIGNMENT_MODES, 'off'),
  },
  AUTO_REASSIGN_WHEN_UNAVAILABLE: {
    section: DESK,
    description:
      'An operator who becomes unavailable hands their requests in progress in no group back to the pool (a group has its own setting)',
    ...bool(false),
  },
  AUTO_ASSIGNMENT_SWEEP_SECONDS: {
    section: DESK,
    description:
      'How often requests left unassigned are looked for (seconds): assigned when an operator becomes available or gets room',
    ...int(10, 1, 3600),
  },
  PRESENCE_TTL_SECONDS: {
    section: DESK,
    description:
      'Seconds an operator stays shown as viewing or replying to a request (PUT /requests/:id/presence) unless renewed',
    ...int(30, 1, 3600),
  },
  AUDIT_RETENTION_DAYS: {
    section: DESK,
    description:
      'Days the audit log (GET /audit) keeps a row; older rows are deleted once a day, in batches; 0 = keep forever',
    ...int(0, 0, 36_500),
  },
  EVENTS_MAX_STREAMS: {
    section: DESK,
    description: 'Live event streams (GET /events/stream) one instance serves at once; 429 beyond',
    ...int(1_000, 1, 100_000),
  },
  EVENTS_MAX_STREAMS_PER_OPERATOR: {
    section: DESK,
    description: 'Live event streams one operator may hold open on one instance (tabs, devices); 429 beyond',
    ...int(5, 1, 1_000),
  },
  EVENTS_HEARTBEAT_SECONDS: {
    section: DESK,
    description: 'Seconds between the comments a live event stream sends while idle, so proxies keep it open',
    ...int(15, 1, 300),
  },
  REQUESTS_COUNT_LIMIT: {
    section: DESK,
    description:
      'GET /requests counts matches exactly up to this many; beyond, total is a lower bound and totalExact false; 0 = always exact',
    ...int(1_000, 0, 100_000_000),
  },
  REQUESTS_SEARCH_RANK_LIMIT: {
    section: DESK,
    description:
      'GET /requests?q= without sort ranks the newest this many matches by relevance (older ones follow, newest first) and counts as any list; 0 = rank every match and count exactly (slow for a common word)',
    ...int(1_000, 0, 100_000_000),
  },

  ADMIN_EMAIL: {
    section: OPERATORS,
    description: 'First admin, created when no operator exists',
    ...email('admin@localhost'),
  },
  ADMIN_PASSWORD: {
    section: OPERATORS,
    description: 'Its password (placeholder, sample and common passwords are refused)',
    empty: 'generated and printed once',
    ...secret(8),
  },
  JWT_SECRET: {
    section: OPERATORS,
    description:
      'Secret that signs operator tokens (random: `openssl rand -hex 32`; placeholder or sample values are refused)',
    empty: 'generated, kept in DATA_DIR/secrets.json',
    ...secret(16),
  },
  JWT_TTL_SECONDS: {
    section: OPERATORS,
    description: 'Lifetime of an operator token (seconds)',
    ...int(12 * 3600, 60, 30 * 24 * 3600),
  },

  LOG_LEVEL: { section: LOGS, description: 'How much is logged', ...oneOf(LOG_LEVELS, 'log') },
  LOG_FORMAT: {
    section: LOGS,
    description:
      'Log lines as readable text (pretty), one JSON object a line (json), or auto: text on a terminal, JSON otherwise (a pipe, a file, a container)',
    ...oneOf(LOG_FORMATS, 'auto'),
  },
  METRICS_TOKEN: {
    section: LOGS,
    description: 'Bearer token GET /metrics requires (random: `openssl rand -hex 32`)',
    empty: '/metrics is public (restrict it in the proxy)',
    ...secret(16),
  },
} satisfies Record<string, ConfigVariable<unknown>>;

export type ConfigName = keyof typeof CONFIG_TABLE;

/** Each variable's value as read from an environment, typed by its entry in CONFIG_TABLE. */
export type ConfigValues = { [K in ConfigName]: ReturnType<(typeof CONFIG_TABLE)[K]['parse']> };

/** The names of the variables loadConfig reads (for `.env.sample` and the deployment files' tests). */
export const CONFIG_VARIABLES = Object.keys(CONFIG_TABLE) as ConfigName[];

/** Reads every variable of the table from `env`, in the table's order; throws the first ConfigError. */
export function readVariables(env: Record<string, string | undefined>): ConfigValues {
  const values: Record<string, unknown> = {};
  for (const name of CONFIG_VARIABLES) {
    const raw = env[name]?.trim();
    const variable: ConfigVariable<unknown> = CONFIG_TABLE[name];
    values[name] = variable.parse(raw === '' ? undefined : raw, name);
  }
  return values as ConfigValues;
}
