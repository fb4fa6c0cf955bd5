import MailComposer from 'nodemailer/lib/mail-composer';
import * as crypto from 'node:crypto';

/** One attachment a provider sent as a file or base64 field. */
export interface ParsedAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  /** Its Content-ID without angle brackets (an inline image the HTML names as `cid:`), or null. */
  contentId: string | null;
}

/** A mail as a provider hands it over in parsed fields (Mailgun, SendGrid, Postmark without RawEmail). */
export interface ParsedFields {
  /** The provider's list of the mail's headers, in order, as name and value. */
  headers: ReadonlyArray<readonly [string, string]>;
  /** The fields, used where the header list lacks the header. */
  from?: string | null;
  to?: string | null;
  cc?: string | null;
  subject?: string | null;
  date?: string | null;
  /** The mail's Message-ID (with or without brackets), where the header list has none. */
  messageId?: string | null;
  text?: string | null;
  html?: string | null;
  attachments: readonly ParsedAttachment[];
}

/** Most headers copied from a provider's list. */
export const MAX_COPIED_HEADERS = 500;

/** The headers the builder writes itself from the list or the fields. */
const MAIN_HEADERS = ['from', 'to', 'cc', 'subject', 'date', 'message-id', 'in-reply-to', 'references'] as const;

/** Headers never copied: the MIME structure is the builder's, Bcc is never part of a mail. */
const SKIPPED = /^(content-|mime-version$|bcc$)/i;

/** A header name as RFC 5322 allows it (printable ASCII but the colon). */
const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]{1,76}$/;

const clean = (value: string): string => value.replace(/[\r\n\0]+[ \t]*/g, ' ').trim();

/** The first value of `name` (any case) in the header list. */
function headerOf(headers: ParsedFields['headers'], name: string): string | undefined {
  const entry = headers.find(([n]) => n.toLowerCase() === name);
  return entry ? clean(entry[1]) : undefined;
}

/** A Message-ID in angle brackets, or null for none. */
function bracketed(id: string | null | undefined): string | null {
  const bare = (id ?? '').trim().replace(/^<|>$/g, '').trim();
  return bare && !/[\s<>]/.test(bare) ? `<${bare}>` : null;
}

/** A file name without directories or line breaks, at most 255 characters. */
function safeFilename(name: string): string {
  return (
    (name.split(/[\\/]/).pop() ?? '')
      .replace(/[\r\n\0]+/g, ' ')
      .trim()
      .slice(0, 255) || 'attachment'
  );
}

function safeContentType(type: string): string {
  const bare = type.split(';')[0].trim().toLowerCase();
  return /^[\w.+-]+\/[\w.+-]+$/.test(bare) ? bare : 'application/octet-stream';
}

/** The SHA-256 of everything the mail is built from: the same fields, the same bytes. */
function fingerprint(fields: ParsedFields): string {
  const hash = crypto.createHash('sha256');
  const part = (s: string | null | undefined) => hash.update(`${(s ?? '').length}:${s ?? ''};`);
  for (const [n, v] of fields.headers) {
    part(n);
    part(v);
  }
  for (const s of [
    fields.from,
    fields.to,
    fields.cc,
    fields.subject,
    fields.date,
    fields.messageId,
    fields.text,
    fields.html,
  ])
    part(s);
  for (const a of fields.attachments) {
    part(a.filename);
    part(a.contentType);
    part(a.contentId);
    hash.update(a.content);
  }
  return hash.digest('hex');
}

/**
 * A faithful RFC 5322 message from a provider's parsed fields, so threading and dedupe work as for
 * raw mail: From, To, Cc, Subject, Date, Message-ID, In-Reply-To and References from the
 * provider's header list (else its fields), the other headers of the list as they were (the loop
 * and automation guards read them), the text and HTML as alternatives, the attachments with their
 * content ids. The same fields always give the same bytes (the MIME boundaries derive from their
 * hash); a mail with no Message-ID anywhere gets one made of that hash, so posting it twice is a
 * duplicate.
 */
export function buildRfc5322(fields: ParsedFields): Promise<Buffer> {
  const print = fingerprint(fields);
  const headers: Array<{ key: string; value: string | { prepared: true; value: string } }> = [];
  let copied = 0;
  for (const [name, value] of fields.headers) {
    const key = name.trim();
    if (!HEADER_NAME.test(key) || SKIPPED.test(key) || (MAIN_HEADERS as readonly string[]).includes(key.toLowerCase()))
      continue;
    const text = clean(value);
    if (!text || ++copied > MAX_COPIED_HEADERS) continue;
    // ASCII values go out as they came (encoded words stay encoded); others are encoded here.
    headers.push({ key, value: /^[\x20-\x7e]*$/.test(text) ? { prepared: true, value: text } : text });
  }
  const main = (name: (typeof MAIN_HEADERS)[number], field?: string | null) => {
    const value = headerOf(fields.headers, name) ?? (field ? clean(field) : undefined);
    return value || undefined;
  };
  const messageId =
    bracketed(headerOf(fields.headers, 'message-id')) ??
    bracketed(fields.messageId) ??
    `<${print.slice(0, 32)}@parsed.maildesk.invalid>`;
  const composer = new MailComposer({
    from: main('from', fields.from),
    to: main('to', fields.to),
    cc: main('cc', fields.cc),
    subject: main('subject', fields.subject),
    date: main('date', fields.date),
    messageId,
    inReplyTo: main('in-reply-to'),
    references: main('references'),
    headers,
    text: fields.text ?? (fields.html ? undefined : ''),
    html: fields.html ?? undefined,
    attachments: fields.attachments.map((a) => ({
      filename: safeFilename(a.filename),
      contentType: safeContentType(a.contentType),
      content: a.content,
      ...(a.contentId ? { cid: a.contentId.replace(/^<|>$/g, '') } : {}),
    })),
    baseBoundary: print.slice(0, 24),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return new Promise<Buffer>((resolve, reject) => {
    composer.compile().build((error: Error | null, message: Buffer) => (error ? reject(error) : resolve(message)));
  });
}
