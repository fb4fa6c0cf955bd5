import { BadRequestException } from '@nestjs/common';
import type { ParsedAttachment } from './mime-builder';
import type { ProviderForm } from './provider-form';
import { addressList, jsonField, type ProviderMail } from './provider-mail';

/** The header list of Mailgun's `message-headers`: a JSON array of [name, value] pairs; 400 otherwise. */
function mailgunHeaders(fields: Record<string, string>): Array<[string, string]> {
  const list = jsonField(fields, 'message-headers', []);
  if (!Array.isArray(list)) throw new BadRequestException('message-headers must be a JSON array of [name, value]');
  return list
    .filter((h): h is [string, string] => Array.isArray(h) && typeof h[0] === 'string' && typeof h[1] === 'string')
    .map(([n, v]) => [n, v]);
}

/** Which attachment field each content id names: Mailgun's `content-id-map` (`{ "<cid>": "attachment-1" }`). */
function contentIds(fields: Record<string, string>): Map<string, string> {
  const map = jsonField(fields, 'content-id-map', {});
  const out = new Map<string, string>();
  if (!map || typeof map !== 'object' || Array.isArray(map)) return out;
  for (const [cid, target] of Object.entries(map as Record<string, unknown>)) {
    // The value is the attachment's field name (or, for stored messages, a URL ending in it).
    const field = typeof target === 'string' ? /attachment-\d+/.exec(target)?.[0] : undefined;
    if (field) out.set(field, cid.replace(/^<|>$/g, ''));
  }
  return out;
}

/**
 * A Mailgun route forward as a mail: `body-mime` (the route's URL ends in `mime`) is the raw
 * mail; otherwise the parsed fields (`message-headers`, `from`, `To`, `Cc`, `subject`, `Date`,
 * `Message-Id`, `body-plain`, `body-html`, files `attachment-N` with `content-id-map`). The
 * envelope is `recipient` (RCPT TO) and `sender` (MAIL FROM). 400 for a form that is neither.
 */
export function mailgunMail(form: ProviderForm): ProviderMail {
  const f = form.fields;
  const envelopeTo = addressList(f.recipient);
  const envelopeFrom = addressList(f.sender)[0] ?? null;
  if (f['body-mime']) return { raw: Buffer.from(f['body-mime'], 'utf8'), fields: null, envelopeTo, envelopeFrom };
  const headers = mailgunHeaders(f);
  if (!headers.length && !f.from && !f['body-plain'] && !f['body-html']) {
    throw new BadRequestException('neither body-mime nor the parsed fields (message-headers, from, body-plain)');
  }
  const cids = contentIds(f);
  const attachments: ParsedAttachment[] = form.files
    .filter((file) => /^attachment-\d+$/.test(file.field))
    .map((file) => ({
      filename: file.filename,
      contentType: file.contentType,
      content: file.content,
      contentId: cids.get(file.field) ?? null,
    }));
  return {
    raw: null,
    fields: {
      headers,
      from: f.from ?? f.From,
      to: f.To ?? f.to,
      cc: f.Cc ?? f.cc,
      subject: f.subject ?? f.Subject,
      date: f.Date,
      messageId: f['Message-Id'] ?? f['Message-ID'],
      text: f['body-plain'],
      html: f['body-html'],
      attachments,
    },
    envelopeTo,
    envelopeFrom,
  };
}
