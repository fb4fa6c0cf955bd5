import type { Attachment, ParsedMail as MailparserMail, SimpleParserOptions } from 'mailparser';
import { Readable } from 'node:stream';
import { senderWithFallback, toMailAddresses } from './addresses';
import { AttachmentNamer, cleanFileName } from './attachment-names';
import { parseHeaderFields, parseStructured } from './header-fields';
import { MAX_ATTACHMENTS, MAX_MIME_PARTS, MAX_PART_HEADER_COST, MAX_REFERENCES } from './limits';
import { mailLocale } from './mail-locale';
import { MailParseError } from './mail-parse-error';
import { parseMessageId, parseMessageIds } from './message-ids';
import { ParsedAttachment, ParsedMail } from './parsed-mail';
import { RepairedMail, repairRawMail } from './repair-raw';
import { checkTopHeader } from './top-header-limits';
import { visibleText } from './visible-text';

export { MailParseError } from './mail-parse-error';
export type { MailParseErrorCode } from './mail-parse-error';

/** Largest raw mail parsed at all (a memory guard; the size filter applies the configured limit). */
export const MAX_RAW_MAIL_BYTES = 100 * 1024 * 1024;

const MAILPARSER_OPTIONS: SimpleParserOptions = {
  keepCidLinks: true,
  skipImageLinks: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  checksumAlgo: 'sha256',
  maxHtmlLengthToParse: 4 * 1024 * 1024,
  maxHeadSize: MAX_PART_HEADER_COST,
  maxChildNodes: MAX_MIME_PARTS,
};

function asParseError(err: unknown): MailParseError {
  if (err instanceof MailParseError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if ((err as { code?: string } | null)?.code === 'EMAXLEN') {
    return /header/i.test(message)
      ? new MailParseError(
          'header-too-large',
          `header too large: a MIME part's header is over ${MAX_PART_HEADER_COST} bytes`,
          { cause: err },
        )
      : new MailParseError('too-many-parts', `too many MIME parts: more than ${MAX_MIME_PARTS}`, { cause: err });
  }
  return new MailParseError('malformed', `unparseable mail: ${message}`, { cause: err });
}

/** Every header of the top block: lower-cased names, unfolded raw values, repeats joined by '\n'. */
function headerMap(topHeader: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const { name, value } of parseHeaderFields(topHeader)) {
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous}\n${value}`);
  }
  return headers;
}

function firstValue(headers: Map<string, string>, name: string): string | null {
  const value = headers.get(name);
  return value === undefined ? null : value.split('\n')[0];
}

/** The Date header, or null when missing or unreadable (mailparser would make up "now"). */
function parseDate(value: string | null): Date | null {
  if (!value) return null;
  for (const candidate of [
    value,
    value
      .replace(/\([^)]*\)/g, ' ')
      .replace(/^\s*[A-Za-z]{3,9},?\s*/, '')
      .trim(),
  ]) {
    const date = new Date(candidate);
    if (!Number.isNaN(date.getTime())) return date;
  }
  return null;
}

/** Text for an HTML-only mail, from mailparser's own HTML-to-text conversion of a root HTML part. */
async function htmlToText(html: string): Promise<string> {
  const mail = Buffer.from(
    `Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${html}`,
    'utf8',
  );
  const { simpleParser } = await loadMailparser();
  return (await simpleParser(mail, MAILPARSER_OPTIONS)).text ?? '';
}

function toAttachments(list: Attachment[], html: string | null): ParsedAttachment[] {
  const namer = new AttachmentNamer();
  namer.reserve(list.map((a) => (a.filename ? cleanFileName(a.filename) : null)));
  return list.map((a) => {
    const content = Buffer.isBuffer(a.content) ? a.content : Buffer.alloc(0);
    const contentType = (a.contentType || 'application/octet-stream').toLowerCase();
    const given = a.filename ? cleanFileName(a.filename) : '';
    const contentId = a.cid ? a.cid : null;
    return {
      filename: given || namer.nameFor(contentType, content),
      contentType,
      size: content.length,
      sha256: a.checksum ?? '',
      contentId,
      content,
      inline:
        contentId !== null &&
        (a.related === true || a.contentDisposition === 'inline' || (html ?? '').includes(`cid:${contentId}`)),
    };
  });
}

async function toParsedMail(mail: MailparserMail, topHeader: string, size: number): Promise<ParsedMail> {
  const headers = headerMap(topHeader);
  const type = parseStructured(firstValue(headers, 'content-type'));
  const contentType = type.value || 'text/plain';
  const html = typeof mail.html === 'string' && mail.html ? mail.html : null;
  let text = mail.text ?? '';
  if (!text.trim() && html) text = await htmlToText(html);
  return {
    messageId: parseMessageId(firstValue(headers, 'message-id')),
    inReplyTo: parseMessageId(firstValue(headers, 'in-reply-to')),
    references: parseMessageIds(headers.get('references')?.replace(/\n/g, ' ')).slice(-MAX_REFERENCES),
    ...senderWithFallback(mail.from, headers),
    replyTo: toMailAddresses(mail.replyTo)[0] ?? null,
    to: toMailAddresses(mail.to),
    cc: toMailAddresses(mail.cc),
    subject: (mail.subject ?? '').replace(/[\r\n]+/g, ' '),
    date: parseDate(firstValue(headers, 'date')),
    text,
    html,
    attachments: toAttachments(mail.attachments ?? [], html),
    headers,
    contentType,
    visibleText: visibleText(text, html),
    reportType: contentType === 'multipart/report' ? (type.params['report-type'] ?? '').toLowerCase() || null : null,
    size,
    locale: mailLocale(headers),
  };
}

/** The repaired mail; the raw mail as it is if the repair itself fails (it is best effort). */
function safeRepair(raw: Buffer): RepairedMail {
  try {
    return repairRawMail(raw);
  } catch {
    const end = raw.indexOf('\r\n\r\n');
    return { raw, topHeader: raw.subarray(0, end < 0 ? raw.length : end).toString('utf8') };
  }
}

/** Bytes of raw mail handed to mailparser at a time (see inSlices). */
const SLICE_BYTES = 64 * 1024;

/**
 * The raw mail as a stream of 64 KiB views of it (no copies). Given the whole mail as one chunk,
 * mailparser takes a long line (a single-line base64 attachment of 20 MB) whole: one string of it,
 * then its decoded bytes at once, then a copy of those; in slices it splits and decodes it piece by
 * piece (a pending line is passed on every 64 KiB), and only the decoded attachment is whole.
 */
function inSlices(raw: Buffer): Readable {
  let at = 0;
  return new Readable({
    highWaterMark: SLICE_BYTES,
    read() {
      if (at >= raw.length) {
        this.push(null);
        return;
      }
      const end = Math.min(raw.length, at + SLICE_BYTES);
      this.push(raw.subarray(at, end));
      at = end;
    },
  });
}

let mailparser: Promise<typeof import('mailparser')> | undefined;

/** mailparser (and the nodemailer it brings) is loaded with the first mail, not at start. */
function loadMailparser(): Promise<typeof import('mailparser')> {
  return (mailparser ??= import('mailparser'));
}

/** Loads mailparser now (a parse worker does so before it takes its first mail). */
export async function preloadParser(): Promise<void> {
  await loadMailparser();
}

/**
 * Parses raw RFC 5322 bytes into our `ParsedMail`. Legacy mail is repaired first (undeclared 8-bit
 * header text, UTF-7 and mislabelled charsets, text parts without charset), then parsed with
 * mailparser. Throws only `MailParseError` (empty, oversized, past a cap of ./limits.ts, malformed).
 * Synchronous work of up to seconds on hostile mail: the app runs it on a worker thread of
 * ParsePool (./parse-pool.ts), which also enforces the wall-clock deadline.
 */
export async function parseMail(raw: Buffer): Promise<ParsedMail> {
  if (!Buffer.isBuffer(raw) || raw.length === 0) throw new MailParseError('empty', 'the mail is empty');
  if (raw.length > MAX_RAW_MAIL_BYTES)
    throw new MailParseError('too-large', `the mail is larger than ${MAX_RAW_MAIL_BYTES} bytes`);
  try {
    checkTopHeader(raw);
    const repaired = safeRepair(raw);
    const { simpleParser } = await loadMailparser();
    const mail = await simpleParser(inSlices(repaired.raw), MAILPARSER_OPTIONS);
    const attachments = mail.attachments?.length ?? 0;
    if (attachments > MAX_ATTACHMENTS) {
      throw new MailParseError(
        'too-many-attachments',
        `too many attachments: ${attachments} (limit ${MAX_ATTACHMENTS})`,
      );
    }
    return await toParsedMail(mail, repaired.topHeader, raw.length);
  } catch (err) {
    throw asParseError(err);
  }
}
