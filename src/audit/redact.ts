import * as crypto from 'node:crypto';

/** Keys whose values are secrets wherever they appear (a body, a snapshot, a CLI option). */
const SECRET_KEY = /pass(word|phrase)?|secret|token|hash|api[-_]?key|authorization|credential|private[-_]?key|cookie|verifier/i;

/** The password of a URL (`imap://user:password@host`): a body may carry one (POST /mailboxes). */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/@]*@/gi;

/** What a secret is replaced with. */
export const REDACTED = '[redacted]';

/** Texts longer than this are recorded by length and digest only (a saved reply's text, a long subject). */
export const MAX_TEXT = 1000;
/** Items of an array recorded; the rest are counted. */
const MAX_ITEMS = 100;
/** Depth below which objects are cut. */
const MAX_DEPTH = 6;

/**
 * `value` made fit for the audit log, a new value (the input is not changed):
 * - a key that names a secret (password, secret, token, hash, ...) keeps its place but not its
 *   value, unless that value is a number, a boolean or null (`token_version` says nothing secret);
 * - the password of a URL in a text is redacted (`imap://user:[redacted]@host`);
 * - a text over MAX_TEXT characters becomes `[N chars, sha256 <first 16 hex>]`: the audit shows that
 *   it changed and from what to what by digest, without copying documents into itself;
 * - arrays beyond MAX_ITEMS items and objects deeper than MAX_DEPTH are cut, saying so;
 * - Dates become ISO strings, Buffers their length; functions and undefined are left out.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    return value.length > MAX_TEXT ? textSummary(value) : value.replace(URL_PASSWORD, `$1:${REDACTED}@`);
  }
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (typeof value !== 'object') return undefined;
  if (depth >= MAX_DEPTH) return '[nested]';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => redact(v, depth + 1) ?? null);
    if (value.length > MAX_ITEMS) items.push(`[${value.length - MAX_ITEMS} more]`);
    return items;
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (SECRET_KEY.test(key) && v !== null && v !== undefined && typeof v !== 'number' && typeof v !== 'boolean') {
      out[key] = REDACTED;
      continue;
    }
    const r = redact(v, depth + 1);
    if (r !== undefined) out[key] = r;
  }
  return out;
}

/** `[N chars, sha256 <16 hex>]`: a text recorded without its content. */
export function textSummary(text: string): string {
  const digest = crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
  return `[${text.length} chars, sha256 ${digest}]`;
}

/**
 * A request body for the audit: the `lengthOnly` fields replaced by `{ length }` (strings) or
 * removed from sight (anything else: `{ present: true }`), the `presentOnly` fields by
 * `{ present: true }` whatever they are, then redacted.
 */
export function auditBody(body: unknown, lengthOnly: readonly string[], presentOnly: readonly string[] = []): unknown {
  if (body === null || body === undefined) return null;
  if (typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) return redact(body);
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const field of lengthOnly) {
    const v = copy[field];
    if (v === undefined || v === null) continue;
    copy[field] = typeof v === 'string' ? { length: v.length } : { present: true };
  }
  for (const field of presentOnly) {
    if (copy[field] !== undefined && copy[field] !== null) copy[field] = { present: true };
  }
  return redact(copy);
}
