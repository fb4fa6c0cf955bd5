/**
 * The Message of an SNS Notification from an Amazon SES receipt rule
 * (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html): JSON with
 * `notificationType`, `mail` (the envelope: `source`, `destination`, the headers), `receipt` (the
 * verdicts and the `action`) and, for the SNS action, `content`: the whole raw mail, base64 or
 * UTF-8 as the action's `encoding` says.
 */

/** What a Notification's Message comes to. */
export type SesNotification =
  /** A received mail with its content: ingested. */
  | { kind: 'mail'; raw: Buffer; envelopeFrom: string | null; envelopeTo: string[] }
  /**
   * A received mail without its content (another receipt action, e.g. S3, told this topic about
   * it): a stand-in built from its headers, kept in quarantine with `reason`, never dropped.
   */
  | { kind: 'without-content'; placeholder: Buffer; reason: string }
  /** Not a received mail (SES's setup notification, sending events on the same topic): nothing to store. */
  | { kind: 'other'; notificationType: string }
  /** Not an SES notification at all: 400. */
  | { kind: 'invalid'; problem: string };

/** Most envelope recipients read (SES takes at most 50 a mail). */
const MAX_RECIPIENTS = 100;
/** Longest address read. */
const MAX_ADDRESS = 320;
/** Most header fields copied into a stand-in. */
const MAX_HEADERS = 200;

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The addresses of an SES address list: strings of bounded length, lower-cased, each once. */
function addresses(...lists: unknown[]): string[] | null {
  const out: string[] = [];
  for (const list of lists) {
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length > MAX_RECIPIENTS) return null;
    for (const a of list) {
      if (typeof a !== 'string' || !a || a.length > MAX_ADDRESS) return null;
      const address = a.trim().toLowerCase();
      if (!out.includes(address)) out.push(address);
    }
  }
  return out.slice(0, MAX_RECIPIENTS);
}

/** The raw mail of `content` in the action's encoding (BASE64 or UTF8, UTF8 when absent), or a problem. */
function decodeContent(content: string, encoding: unknown): Buffer | string {
  const e = typeof encoding === 'string' ? encoding.toUpperCase().replace(/[^A-Z0-9]/g, '') : 'UTF8';
  if (e === 'BASE64') {
    if (!/^[A-Za-z0-9+/=\s]+$/.test(content)) return 'content is not base64 although the action says BASE64';
    return Buffer.from(content, 'base64');
  }
  if (e === 'UTF8') return Buffer.from(content, 'utf8');
  return `receipt.action.encoding ${String(encoding).slice(0, 40)} is neither BASE64 nor UTF8`;
}

/** A header field value fit for one line of a stand-in mail. */
const oneLine = (v: string) => v.replace(/[\r\n]+/g, ' ').slice(0, 2000);

/**
 * A stand-in for a mail whose content SES did not send: its header fields as SES reported them
 * (From, To, Subject, ...; its Message-ID renamed, so the real mail is never taken for a copy of
 * the stand-in), and a text saying where the content is.
 */
function placeholderOf(mail: Record<string, unknown>, where: string): Buffer {
  const lines: string[] = [];
  if (Array.isArray(mail.headers)) {
    for (const h of mail.headers.slice(0, MAX_HEADERS)) {
      if (!isObject(h) || typeof h.name !== 'string' || typeof h.value !== 'string') continue;
      if (!/^[!-9;-~]{1,100}$/.test(h.name)) continue;
      if (/^(content-|mime-version$)/i.test(h.name)) continue;
      // Not under the mail's own Message-ID: the real mail, posted later, must not be its duplicate.
      const name = /^message-id$/i.test(h.name) ? 'X-SES-Original-Message-ID' : h.name;
      lines.push(`${name}: ${oneLine(h.value)}`);
    }
  }
  if (!lines.length && typeof mail.source === 'string') lines.push(`From: ${oneLine(mail.source)}`);
  lines.push(
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    `X-MailDesk-SES-Content: ${oneLine(where)}`,
  );
  const text = `Amazon SES did not include this mail's content in its notification (${where}). Fetch the raw mail from there and post it to POST /inbound/mail.`;
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${text}\r\n`, 'utf8');
}

/** Reads the Message of a verified Notification as SES writes it. */
export function readSesNotification(message: string): SesNotification {
  let doc: unknown;
  try {
    doc = JSON.parse(message);
  } catch {
    return { kind: 'invalid', problem: 'the SNS Message is not JSON (an Amazon SES notification was expected)' };
  }
  if (!isObject(doc)) return { kind: 'invalid', problem: 'the SNS Message is not an Amazon SES notification' };
  const type = doc.notificationType ?? doc.eventType;
  if (typeof type !== 'string') return { kind: 'invalid', problem: 'the SNS Message has no notificationType' };
  if (type !== 'Received') return { kind: 'other', notificationType: type.slice(0, 100) };
  const mail = doc.mail;
  const receipt = doc.receipt;
  if (!isObject(mail) || !isObject(receipt)) {
    return { kind: 'invalid', problem: 'a Received notification needs mail and receipt objects' };
  }
  const envelopeTo = addresses(receipt.recipients, mail.destination);
  if (!envelopeTo)
    return { kind: 'invalid', problem: 'mail.destination and receipt.recipients must be lists of addresses' };
  const action = isObject(receipt.action) ? receipt.action : {};
  if (typeof doc.content !== 'string' || !doc.content) {
    const actionType = typeof action.type === 'string' ? action.type.slice(0, 40) : 'unknown';
    const where =
      typeof action.bucketName === 'string' && typeof action.objectKey === 'string'
        ? `s3://${action.bucketName.slice(0, 255)}/${action.objectKey.slice(0, 1024)}`
        : `receipt action ${actionType}`;
    return {
      kind: 'without-content',
      placeholder: placeholderOf(mail, where),
      reason: `the SES notification carries no content (${where}); fetch the raw mail and post it to /inbound/mail`,
    };
  }
  const raw = decodeContent(doc.content, action.encoding);
  if (typeof raw === 'string') return { kind: 'invalid', problem: raw };
  const source = typeof mail.source === 'string' && mail.source.length <= MAX_ADDRESS ? mail.source.trim() : null;
  return { kind: 'mail', raw, envelopeFrom: source || null, envelopeTo };
}
