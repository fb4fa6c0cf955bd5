import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AppProcess } from '../../setup/app-process';

/** `RELIABILITY=short` (CI) or `long` (default of `npm run test:reliability`). */
export const SHORT = (process.env.RELIABILITY ?? 'long') === 'short';

/** The value for the current variant. */
export function variant<T>(short: T, long: T): T {
  return SHORT ? short : long;
}

export const TOKEN = 'reliability-inbound-token-0123456789';
export const ADMIN = { email: 'admin@desk.test', password: 'admin-password-1' };

/** Environment of an app child process for these tests (the caller adds DATABASE_URL, SMTP_URL...). */
export function appEnv(extra: Record<string, string>): Record<string, string> {
  return {
    SUPPORT_ADDRESS: 'support@desk.test',
    INBOUND_TOKEN: TOKEN,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    JWT_SECRET: 'reliability-jwt-secret-0123456789',
    // These tests are the only client and post far more than a provider would: no per-IP limit.
    WEBHOOK_RATE_LIMIT: '0',
    OUTBOX_POLL_MS: '100',
    OUTBOX_RETRY_BASE_MS: '200',
    LOG_LEVEL: 'log',
    ...extra,
  };
}

/** A fresh temp directory (DATA_DIR of an app process). */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `maildesk-${prefix}-`));
}

/** A plain-text email with a Message-ID. */
export function plainMail(o: {
  from: string;
  subject: string;
  messageId: string;
  text?: string;
  headers?: Record<string, string>;
}): Buffer {
  return Buffer.from(
    [
      `From: ${o.from}`,
      'To: support@desk.test',
      `Subject: ${o.subject}`,
      `Date: ${new Date().toUTCString()}`,
      `Message-ID: <${o.messageId}>`,
      ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      o.text ?? `Body of ${o.subject}`,
      '',
    ].join('\r\n'),
  );
}

/** Result of one webhook call: the HTTP status (0: no answer) and the parsed body. */
export interface PostOutcome {
  status: number;
  body:
    | { results?: Array<{ status: string; requestId: number | null; messageId: string | null; reason: string | null }> }
    | undefined;
  error?: string;
  ms: number;
}

/** POST /inbound/mail with one raw email; never throws (a network error is status 0). */
export async function postMail(base: string, raw: Buffer, timeoutMs = 30000): Promise<PostOutcome> {
  const started = Date.now();
  try {
    const res = await fetch(`${base}/inbound/mail`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'message/rfc822' },
      body: raw,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: PostOutcome['body'];
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, ms: Date.now() - started };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return { status: 0, body: undefined, error: err.cause?.code ?? err.name ?? err.message, ms: Date.now() - started };
  }
}

/**
 * Posts until the webhook answers 200, like a well-behaved sender (retry on no answer, 429 and 503);
 * resolves with every outcome seen. Gives up (throws) on any other status or after `deadlineMs`.
 */
export async function postUntilAccepted(base: () => string, raw: Buffer, deadlineMs = 120000): Promise<PostOutcome[]> {
  const seen: PostOutcome[] = [];
  const end = Date.now() + deadlineMs;
  for (;;) {
    const o = await postMail(base(), raw);
    seen.push(o);
    if (o.status === 200) return seen;
    if (o.status !== 0 && o.status !== 503 && o.status !== 429)
      throw new Error(`webhook answered ${o.status}: ${JSON.stringify(o.body)}`);
    if (Date.now() > end)
      throw new Error(`webhook did not accept a mail within ${deadlineMs} ms (last: ${o.status} ${o.error ?? ''})`);
    await sleep(100 + Math.random() * 200);
  }
}

/** Logs in the seeded admin; returns the bearer token. */
export async function adminToken(base: string): Promise<string> {
  const res = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ADMIN),
  });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resident set size of a process in bytes (from /proc), 0 when it is gone. */
export function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** RSS of an app process in MB, rounded to one decimal. */
export function rssMb(app: AppProcess): number {
  return Math.round(rssOf(app.proc.pid) / 104857.6) / 10;
}

/** Polls `check` until it returns a truthy value; throws naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | false | null | undefined>,
  timeoutMs = 30000,
  stepMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** Prints a figure line that the README's Reliability section quotes. */
export function report(name: string, figures: Record<string, unknown>): void {
  const line = `[reliability] ${name}: ${JSON.stringify(figures)}`;
  process.stdout.write(line + '\n');
  const file = process.env.RELIABILITY_REPORT;
  if (file) fs.appendFileSync(file, line + '\n');
}
