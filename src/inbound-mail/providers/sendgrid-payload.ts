import { BadRequestException } from '@nestjs/common';
import iconv from 'iconv-lite';
import type { ParsedAttachment } from './mime-builder';
import type { ProviderForm } from './provider-form';
import { addressList, jsonField, type ProviderMail } from './provider-mail';

/** Most header lines read from SendGrid's `headers` block. */
const MAX_HEADER_LINES = 1000;

/**
 * A field's text in the charset SendGrid names for it in `charsets` (UTF-8 when it names none or
 * one not known). The form's fields are read as latin1, which keeps their bytes.
 */
function decoded(value: string | undefined, charset: unknown): string | undefined {
  if (value === undefined) return undefined;
  const bytes = Buffer.from(value, 'latin1');
  const name = typeof charset === 'string' && iconv.encodingExists(charset) ? charset : 'utf-8';
  return iconv.decode(bytes, name);
}

/** SendGrid's `headers`, the mail's header block as it came, as a list of [name, value] (folded lines joined). */
export function headerBlock(block: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!block) return out;
  for (const line of block.split(/\r?\n/).slice(0, MAX_HEADER_LINES)) {
    if (/^[ \t]/.test(line) && out.length) out[out.length - 1][1] += ' ' + line.trim();
    else {
      const colon = line.indexOf(':');
      if (colon > 0) out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
  }
  return out;
}

/**
 * A SendGrid Inbound Parse call as a mail: `email` (the "POST the raw, full MIME message" option)
 * is the raw mail, kept byte for byte; otherwise the parsed fields (`headers`, `from`, `to`, `cc`,
 * `subject`, `text`, `html` in the charsets `charsets` names, files `attachmentN` described by
 * `attachment-info` and `content-ids`). The envelope is the JSON `envelope` (`to`, `from`).
 */
export function sendgridMail(form: ProviderForm): ProviderMail {
  const f = form.fields;
  const envelope = jsonField(f, 'envelope', {}) as { to?: unknown; from?: unknown } | null;
  const envelopeTo = addressList(envelope?.to);
  const envelopeFrom = addressList(envelope?.from)[0] ?? null;
  if (f.email) return { raw: Buffer.from(f.email, 'latin1'), fields: null, envelopeTo, envelopeFrom };
  const charsets = (jsonField(f, 'charsets', {}) ?? {}) as Record<string, unknown>;
  const headers = headerBlock(decoded(f.headers, charsets.headers));
  if (!headers.length && !f.from && !f.text && !f.html) {
    throw new BadRequestException('neither email (raw) nor the parsed fields (headers, from, text, html)');
  }
  const info = (jsonField(f, 'attachment-info', {}) ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const ids = (jsonField(f, 'content-ids', {}) ?? {}) as Record<string, unknown>;
  const cidOf = new Map<string, string>();
  for (const [cid, field] of Object.entries(ids)) if (typeof field === 'string') cidOf.set(field, cid);
  const attachments: ParsedAttachment[] = form.files
    .filter((file) => /^attachment\d+$/.test(file.field))
    .map((file) => {
      const meta = info[file.field] ?? {};
      const cid = typeof meta['content-id'] === 'string' ? meta['content-id'] : cidOf.get(file.field);
      return {
        filename: typeof meta.filename === 'string' ? meta.filename : file.filename,
        contentType: typeof meta.type === 'string' ? meta.type : file.contentType,
        content: file.content,
        contentId: cid ?? null,
      };
    });
  return {
    raw: null,
    fields: {
      headers,
      from: decoded(f.from, charsets.from),
      to: decoded(f.to, charsets.to),
      cc: decoded(f.cc, charsets.cc),
      subject: decoded(f.subject, charsets.subject),
      text: decoded(f.text, charsets.text),
      html: decoded(f.html, charsets.html),
      attachments,
    },
    envelopeTo,
    envelopeFrom,
  };
}
