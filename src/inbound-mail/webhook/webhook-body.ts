import { BadRequestException } from '@nestjs/common';
import { isRoutableAddress } from '../../common/addresses';

/** One item of the original Django ServiceDesk's Google Apps Script batch. */
export interface AppsScriptMessage {
  title: string;
  description: string;
  user_email: string;
}

function encodeHeader(value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ').trim();
  return /^[\x20-\x7e]*$/.test(clean) ? clean : `=?UTF-8?B?${Buffer.from(clean, 'utf8').toString('base64')}?=`;
}

/**
 * An Apps Script message as a plain RFC 5322 email, so it takes the same pipeline as any mail. It
 * has no Message-ID and no Date: its dedupe key is the hash of these bytes, so a retried batch is a
 * duplicate.
 */
export function appsScriptToRaw(m: AppsScriptMessage, supportAddress: string): Buffer {
  const body = Buffer.from(m.description.replace(/\r?\n/g, '\r\n'), 'utf8')
    .toString('base64')
    .replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      `From: ${m.user_email.trim()}`,
      `To: ${supportAddress}`,
      `Subject: ${encodeHeader(m.title)}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      'X-MailDesk-Source: apps-script',
      '',
      body,
      '',
    ].join('\r\n'),
    'utf8',
  );
}

function decodeBase64(value: unknown, where: string): Buffer {
  if (typeof value !== 'string' || !value.trim() || !/^[A-Za-z0-9+/=_\-\s]+$/.test(value)) {
    throw new BadRequestException(`${where} must be a non-empty base64 string`);
  }
  return Buffer.from(value, 'base64');
}

/**
 * The emails in a webhook body, in processing order: raw MIME, `{ raw }`, `{ raws: [] }`, or the
 * Apps Script `{ messages: [...] }` (newest first, so it is reversed: oldest first). 400 otherwise.
 */
export function emailsOfBody(body: unknown, supportAddress: string): Buffer[] {
  if (Buffer.isBuffer(body)) {
    if (!body.length) throw new BadRequestException('empty body: send one raw email as message/rfc822');
    return [body];
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestException('body must be message/rfc822, or JSON { raw }, { raws: [] } or { messages: [] }');
  }
  const b = body as Record<string, unknown>;
  const keys = Object.keys(b);
  if (keys.length !== 1) throw new BadRequestException('JSON body must have exactly one of raw, raws, messages');
  if ('raw' in b) return [decodeBase64(b.raw, 'raw')];
  if ('raws' in b) {
    if (!Array.isArray(b.raws) || !b.raws.length || b.raws.length > 1000)
      throw new BadRequestException('raws must be an array of 1 to 1000 base64 strings');
    return b.raws.map((r, i) => decodeBase64(r, `raws[${i}]`));
  }
  if ('messages' in b) {
    if (!Array.isArray(b.messages) || !b.messages.length || b.messages.length > 1000) {
      throw new BadRequestException('messages must be an array of 1 to 1000 { title, description, user_email }');
    }
    const items = b.messages.map((m: unknown, i) => {
      const o = m as Record<string, unknown>;
      if (
        !o ||
        typeof o !== 'object' ||
        typeof o.title !== 'string' ||
        typeof o.description !== 'string' ||
        typeof o.user_email !== 'string'
      ) {
        throw new BadRequestException(
          `messages[${i}] must be { title: string, description: string, user_email: string }`,
        );
      }
      if (!isRoutableAddress(o.user_email.trim()))
        throw new BadRequestException(`messages[${i}].user_email is not an email address`);
      return appsScriptToRaw(o as unknown as AppsScriptMessage, supportAddress);
    });
    return items.reverse();
  }
  throw new BadRequestException('JSON body must have exactly one of raw, raws, messages');
}
