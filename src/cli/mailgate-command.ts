// `maildesk mailgate`: one raw mail on standard input, delivered to the desk's inbound webhook, for a
// mail server's `pipe` transport, a Sieve `pipe` or a procmail recipe (docs/ways-in.md, "Pipe").
import { hmacSignature } from '../common/hmac-signature';
import { AppConfig, ConfigError, loadConfig, readDotEnv } from '../config/config';
import { CONFIG_TABLE } from '../config/config-variables';
import { storedInboundToken } from '../config/secrets';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../inbound-mail/webhook/webhook-signature';
import { optional, ParsedArgs, positiveInt, UsageError } from './args';
import type { StandaloneCommand } from './command';

/**
 * The exit codes of mailgate, from sysexits.h, as mail servers read them. Postfix's `pipe` defers
 * the mail on 75 (it stays in the queue and is retried) and bounces it on the others; procmail and
 * Sieve keep the mail in the mailbox when the pipe fails.
 *
 * - 0: the desk answered success: the mail is committed (created, appended, duplicate, ignored or
 *   quarantined: all are stored, none must be retried).
 * - 64 (EX_USAGE): a wrong command line, or nothing on standard input.
 * - 65 (EX_DATAERR): the desk refused the mail itself (larger than INBOUND_MAX_BYTES, checked here
 *   before anything is sent, or a 400/413/415 answer): retrying cannot help, the sender gets a bounce.
 * - 75 (EX_TEMPFAIL): everything else: the desk is unreachable, too slow (`--timeout`), answers 5xx
 *   (503 while its database is down), 429, or refuses the token (401/403) or the URL (404); a wrong
 *   configuration is fixed by the admin and the mail waits in the queue meanwhile, where
 *   Postfix's EX_NOPERM (77) and EX_CONFIG (78) would bounce every customer's mail.
 */
export const MAILGATE_EXIT = { ok: 0, usage: 64, dataError: 65, tempFail: 75 } as const;

/** How long mailgate waits for the desk's answer unless `--timeout` says otherwise (seconds). */
export const MAILGATE_TIMEOUT_SECONDS = 60;
const MAX_TIMEOUT_SECONDS = 3600;

/** The desk's answer statuses that mean "this mail can never be accepted" (not retried). */
const REFUSED_STATUSES = new Set([400, 413, 415]);

/** The exit code for the desk's HTTP answer (see MAILGATE_EXIT). */
export function exitForStatus(status: number): number {
  if (status >= 200 && status < 300) return MAILGATE_EXIT.ok;
  if (REFUSED_STATUSES.has(status)) return MAILGATE_EXIT.dataError;
  return MAILGATE_EXIT.tempFail;
}

/** Where and how mailgate posts: the webhook URL, its token, the HMAC secret when the desk wants one. */
export interface MailgateTarget {
  url: string;
  token: string;
  hmacSecret?: string;
}

/** What the command line asked for. */
interface MailgateOptions {
  url?: string;
  token?: string;
  timeoutMs: number;
  recipient?: string;
}

/** `http(s)://host[:port][/prefix]`, without a trailing slash, or a UsageError. */
function baseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url must be an http(s) URL (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be an http(s) URL');
  if (url.search || url.hash) throw new UsageError('--url must have no query or fragment');
  return url.toString().replace(/\/+$/, '');
}

/** One address for the `Delivered-To` header, or a UsageError (no header injection). */
function recipientOf(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const address = raw.trim().replace(/^<(.*)>$/, '$1');
  if (!/^[^\s<>@,;:"]+@[^\s<>@,;:"]+$/.test(address) || address.length > 320) {
    throw new UsageError(`--recipient must be one email address (got "${raw}")`);
  }
  return address;
}

function options(args: ParsedArgs): MailgateOptions {
  const url = optional(args, 'url');
  const token = optional(args, 'token');
  if (token !== undefined && !token.trim()) throw new UsageError('--token must not be empty');
  return {
    url: url === undefined ? undefined : baseUrl(url),
    token: token?.trim(),
    timeoutMs: positiveInt(args, 'timeout', MAILGATE_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS) * 1000,
    recipient: recipientOf(optional(args, 'recipient')),
  };
}

/** The largest mail mailgate sends: the server's INBOUND_MAX_BYTES (from the same environment). */
function maxBytes(): number {
  return CONFIG_TABLE.INBOUND_MAX_BYTES.parse(process.env.INBOUND_MAX_BYTES, 'INBOUND_MAX_BYTES');
}

/**
 * The webhook URL and token: `--url` and `--token` where given, else the server's own settings
 * (PUBLIC_URL or http://127.0.0.1:PORT; INBOUND_TOKEN or the token in DATA_DIR/secrets.json,
 * read, never generated). The HMAC secret comes from INBOUND_HMAC_SECRET when set. Throws a
 * message for stderr when the token cannot be found.
 */
export function resolveTarget(opts: { url?: string; token?: string }, env = process.env): MailgateTarget {
  const hmacSecret = env.INBOUND_HMAC_SECRET || undefined;
  if (opts.url && opts.token) return { url: `${opts.url}/inbound/mail`, token: opts.token, hmacSecret };
  let config: AppConfig;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) throw new Error(`invalid configuration: ${e.message}`, { cause: e });
    throw e;
  }
  const url = opts.url ?? config.feedback.publicUrl;
  const token = opts.token ?? config.inbound.token ?? storedInboundToken(config.dataDir);
  if (!token) {
    throw new Error(
      `no inbound token: give --token, set INBOUND_TOKEN, or start the server once (DATA_DIR/secrets.json)`,
    );
  }
  return { url: `${url}/inbound/mail`, token, hmacSecret: config.inbound.hmacSecret ?? hmacSecret };
}

/** All of standard input, or `tooLarge` as soon as it passes `limit` bytes (the rest is not kept). */
async function readStdin(limit: number): Promise<Buffer | 'tooLarge'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      process.stdin.destroy();
      return 'tooLarge';
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** `Delivered-To: <recipient>` before the mail, so the desk routes it to that mailbox (newest hop first). */
export function withRecipient(raw: Buffer, recipient: string | undefined): Buffer {
  if (!recipient) return raw;
  const eol = raw.includes('\r\n') ? '\r\n' : '\n';
  return Buffer.concat([Buffer.from(`Delivered-To: ${recipient}${eol}`), raw]);
}

/** The outcome of one post: the exit code and, on failure, the one line for stderr. */
export interface MailgateOutcome {
  code: number;
  problem?: string;
}

/** Posts one raw mail to the webhook and classifies the answer (never throws). */
export async function postMail(target: MailgateTarget, raw: Buffer, timeoutMs: number): Promise<MailgateOutcome> {
  const headers: Record<string, string> = {
    'content-type': 'message/rfc822',
    authorization: `Bearer ${target.token}`,
  };
  if (target.hmacSecret) {
    const timestamp = Math.floor(Date.now() / 1000);
    headers[TIMESTAMP_HEADER] = String(timestamp);
    headers[SIGNATURE_HEADER] = hmacSignature(target.hmacSecret, timestamp, raw);
  }
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers,
      body: raw,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why =
      err.name === 'TimeoutError'
        ? `no answer within ${timeoutMs / 1000} s`
        : (err.cause?.code ?? err.cause?.message ?? err.message);
    return { code: MAILGATE_EXIT.tempFail, problem: `${target.url} unreachable (${why}): try again later` };
  }
  const body = await response.text().catch(() => '');
  const code = exitForStatus(response.status);
  if (code === MAILGATE_EXIT.ok) return { code };
  return { code, problem: `${target.url} answered ${response.status}${detail(body)}` };
}

/** The error message of the desk's JSON answer, short and on one line. */
function detail(body: string): string {
  let message: unknown;
  try {
    message = (JSON.parse(body) as { message?: unknown }).message;
  } catch {
    return '';
  }
  const text = Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : '';
  return text ? `: ${text.replace(/\s+/g, ' ').slice(0, 200)}` : '';
}

/** Prints the one line of a failure. */
function fail(code: number, problem: string): number {
  process.stderr.write(`maildesk mailgate: ${problem}\n`);
  return code;
}

async function run(opts: MailgateOptions): Promise<number> {
  let limit: number;
  let target: MailgateTarget;
  try {
    readDotEnv();
    limit = maxBytes();
    target = resolveTarget(opts);
  } catch (e) {
    return fail(MAILGATE_EXIT.tempFail, (e as Error).message);
  }
  const raw = await readStdin(limit);
  if (raw === 'tooLarge')
    return fail(MAILGATE_EXIT.dataError, `the mail is larger than ${limit} bytes (INBOUND_MAX_BYTES)`);
  if (raw.length === 0) return fail(MAILGATE_EXIT.usage, 'no mail on standard input');
  const outcome = await postMail(target, withRecipient(raw, opts.recipient), opts.timeoutMs);
  return outcome.problem ? fail(outcome.code, outcome.problem) : outcome.code;
}

/** `maildesk mailgate`: needs neither the database nor the application, only the desk's URL. */
export const mailgate: StandaloneCommand = {
  name: 'mailgate',
  usage: '[--url URL] [--token TOKEN] [--timeout SECONDS] [--recipient ADDRESS]  < mail.eml',
  summary:
    'deliver one raw mail from standard input through the inbound webhook (exit 0 stored, 75 retry later, 65 refused, 64 usage)',
  spec: { values: ['url', 'token', 'timeout', 'recipient'] },
  standalone: true,
  usageExitCode: MAILGATE_EXIT.usage,
  prepare(args) {
    const opts = options(args);
    if (process.stdin.isTTY) throw new UsageError('reads one mail on standard input (maildesk mailgate < mail.eml)');
    return () => run(opts);
  },
};
