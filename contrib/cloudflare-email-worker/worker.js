/**
 * MailDesk's Cloudflare Email Worker: Cloudflare Email Routing hands each mail for your support
 * addresses to this worker, which posts it, raw, to MailDesk's inbound webhook (POST /inbound/mail)
 * with the webhook's token and, when INBOUND_HMAC_SECRET is set, its HMAC signature headers.
 *
 * Bindings (wrangler.toml `[vars]` and `wrangler secret put`):
 *   MAILDESK_URL         the desk's public base URL, e.g. https://desk.example.com (https only)
 *   INBOUND_TOKEN        secret: MailDesk's INBOUND_TOKEN
 *   INBOUND_HMAC_SECRET  secret, optional: MailDesk's INBOUND_HMAC_SECRET
 *   MAX_BYTES            optional: largest mail taken (default 25 MiB, Email Routing's own limit)
 *
 * What the sending server is told:
 *   - MailDesk stored the mail (200, whatever its result): accepted.
 *   - MailDesk refuses the mail itself (400, 413, another 4xx but the credentials'): rejected
 *     permanently (message.setReject), the sender gets a bounce with the reason.
 *   - MailDesk cannot store it now (503, 429, another 5xx, network), or refuses the worker's
 *     credentials (401, 403: a configuration to fix, not the sender's fault): the handler throws,
 *     Cloudflare answers the sending server with a temporary failure and it retries later.
 *
 * The envelope recipient (message.to) is added on top as `Delivered-To`, which MailDesk asks first
 * when it picks the mailbox a mail belongs to.
 */

/** Largest mail taken when MAX_BYTES is not set: Email Routing's own limit. */
export const DEFAULT_MAX_BYTES = 25 * 1024 * 1024;

/** The hex HMAC-SHA256 of `timestamp + "." + body` with `secret`, as `sha256=<hex>` (MailDesk's X-MailDesk-Signature). */
export async function signature(secret, timestamp, body) {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  const prefix = enc.encode(`${timestamp}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix, 0);
  signed.set(body, prefix.length);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, signed));
  return 'sha256=' + Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The bytes of a ReadableStream, or null past `limit` bytes (the rest is not read). */
export async function readAll(stream, limit) {
  const reader = stream.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A header line safe to prepend (no line breaks from the envelope). */
function headerLine(name, value) {
  return `${name}: ${String(value)
    .replace(/[\r\n]+/g, ' ')
    .trim()}\r\n`;
}

/**
 * Posts one mail to MailDesk and says what to tell the sender: `{ outcome: 'stored' | 'reject' |
 * 'retry', status, detail }`. `fetchImpl` is the global fetch unless a test gives another.
 */
export async function deliver(message, env, fetchImpl = fetch) {
  if (!env.MAILDESK_URL || !env.INBOUND_TOKEN) {
    return { outcome: 'retry', status: 0, detail: 'the worker needs MAILDESK_URL and INBOUND_TOKEN' };
  }
  const limit = Number(env.MAX_BYTES) > 0 ? Number(env.MAX_BYTES) : DEFAULT_MAX_BYTES;
  if (typeof message.rawSize === 'number' && message.rawSize > limit) {
    return { outcome: 'reject', status: 413, detail: `message larger than ${limit} bytes` };
  }
  const mail = await readAll(message.raw, limit);
  if (!mail) return { outcome: 'reject', status: 413, detail: `message larger than ${limit} bytes` };
  const top = new TextEncoder().encode(headerLine('Delivered-To', message.to));
  const body = new Uint8Array(top.length + mail.length);
  body.set(top, 0);
  body.set(mail, top.length);

  const headers = {
    Authorization: `Bearer ${env.INBOUND_TOKEN}`,
    'Content-Type': 'message/rfc822',
  };
  if (env.INBOUND_HMAC_SECRET) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    headers['X-MailDesk-Timestamp'] = timestamp;
    headers['X-MailDesk-Signature'] = await signature(env.INBOUND_HMAC_SECRET, timestamp, body);
  }
  const url = `${String(env.MAILDESK_URL).replace(/\/+$/, '')}/inbound/mail`;
  let res;
  try {
    res = await fetchImpl(url, { method: 'POST', headers, body });
  } catch (e) {
    return { outcome: 'retry', status: 0, detail: `MailDesk unreachable: ${e && e.message}` };
  }
  let detail = '';
  try {
    const answer = await res.json();
    detail = answer.message ?? (answer.results ?? []).map((r) => r.status).join(',');
  } catch {
    detail = res.statusText;
  }
  if (res.status >= 200 && res.status < 300) return { outcome: 'stored', status: res.status, detail };
  if (res.status === 401 || res.status === 403 || res.status === 429 || res.status >= 500) {
    return { outcome: 'retry', status: res.status, detail: `MailDesk answered ${res.status}: ${detail}` };
  }
  return { outcome: 'reject', status: res.status, detail: `MailDesk refused the message (${res.status}): ${detail}` };
}

export default {
  /** Email Routing's entry point: one call per mail. */
  async email(message, env) {
    const result = await deliver(message, env);
    if (result.outcome === 'reject') {
      message.setReject(result.detail);
      return;
    }
    // A thrown error is a temporary failure for the sending server, which keeps the mail and retries.
    if (result.outcome === 'retry') throw new Error(result.detail);
  },
};
