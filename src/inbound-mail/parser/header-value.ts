import type { ParsedMail } from './parsed-mail';

/** A header's value as the filters compare it: trimmed and lower-cased ('' when absent). */
export function headerValue(mail: Pick<ParsedMail, 'headers'>, name: string): string {
  return (mail.headers.get(name) ?? '').trim().toLowerCase();
}
