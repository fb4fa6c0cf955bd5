import { BadRequestException } from '@nestjs/common';
import type { ParsedAttachment } from './mime-builder';
import { addressList, formatAddress, optionalString, type ProviderMail } from './provider-mail';

/** Most items read from one of Postmark's lists (headers, recipients, attachments). */
const MAX_ITEMS = 1000;

function list(body: Record<string, unknown>, name: string): Array<Record<string, unknown>> {
  const value = body[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new BadRequestException(`${name} must be an array`);
  return value.slice(0, MAX_ITEMS).map((item, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item))
      throw new BadRequestException(`${name}[${i}] must be an object`);
    return item as Record<string, unknown>;
  });
}

/** `"Name" <Email>, ...` of Postmark's FromFull / ToFull / CcFull. */
function addresses(items: Array<Record<string, unknown>>): string | null {
  const out = items
    .filter((i) => typeof i.Email === 'string' && i.Email)
    .map((i) => formatAddress(i.Email as string, typeof i.Name === 'string' ? i.Name : null));
  return out.length ? out.join(', ') : null;
}

function base64(value: unknown, where: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(value))
    throw new BadRequestException(`${where} must be base64`);
  return Buffer.from(value, 'base64');
}

/**
 * Postmark's inbound JSON as a mail: `RawEmail` (the server's "include raw email content" option)
 * is the raw mail; otherwise FromFull, ToFull, CcFull, Subject, Date, MessageID, Headers
 * (`[{ Name, Value }]`), TextBody, HtmlBody and Attachments (`Content` base64, `ContentID`). The
 * envelope recipient is `OriginalRecipient`.
 */
export function postmarkMail(body: Record<string, unknown>): ProviderMail {
  const envelopeTo = addressList(optionalString(body, 'OriginalRecipient') ?? '');
  const rawEmail = optionalString(body, 'RawEmail');
  if (rawEmail) return { raw: Buffer.from(rawEmail, 'utf8'), fields: null, envelopeTo, envelopeFrom: null };
  const headers = list(body, 'Headers')
    .filter((h) => typeof h.Name === 'string' && typeof h.Value === 'string')
    .map((h) => [h.Name as string, h.Value as string] as const);
  const fromFull = body.FromFull;
  const from =
    fromFull && typeof fromFull === 'object' && !Array.isArray(fromFull)
      ? addresses([fromFull as Record<string, unknown>])
      : optionalString(body, 'From');
  const text = optionalString(body, 'TextBody');
  const html = optionalString(body, 'HtmlBody');
  if (!from && !headers.length && !text && !html) {
    throw new BadRequestException('neither RawEmail nor the parsed fields (FromFull, Headers, TextBody, HtmlBody)');
  }
  const attachments: ParsedAttachment[] = list(body, 'Attachments').map((a, i) => ({
    filename: typeof a.Name === 'string' ? a.Name : 'attachment',
    contentType: typeof a.ContentType === 'string' ? a.ContentType : 'application/octet-stream',
    content: base64(a.Content, `Attachments[${i}].Content`),
    contentId: typeof a.ContentID === 'string' && a.ContentID ? a.ContentID : null,
  }));
  return {
    raw: null,
    fields: {
      headers,
      from,
      to: addresses(list(body, 'ToFull')) ?? optionalString(body, 'To'),
      cc: addresses(list(body, 'CcFull')) ?? optionalString(body, 'Cc'),
      subject: optionalString(body, 'Subject'),
      date: optionalString(body, 'Date'),
      messageId: optionalString(body, 'MessageID'),
      text,
      html,
      attachments,
    },
    envelopeTo,
    envelopeFrom: null,
  };
}
