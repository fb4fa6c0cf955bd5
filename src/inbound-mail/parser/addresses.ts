import type { AddressObject, EmailAddress } from 'mailparser';
import { isAddress } from '../../common/addresses';
import { decodeHeaderText } from './encoded-words';
import { MailAddress, ParsedMail, SenderSource } from './parsed-mail';

const ADDRESS_IN_TEXT =
  /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+/;

function cleanName(name: string | undefined): string {
  return (name ?? '').replace(/\s+/g, ' ').trim();
}

function flatten(entries: EmailAddress[], out: MailAddress[]): void {
  for (const entry of entries) {
    if (entry.group) flatten(entry.group, out);
    const address = (entry.address ?? '').trim().toLowerCase();
    if (isAddress(address)) out.push({ address, name: cleanName(entry.name) });
  }
}

/** The mailboxes of mailparser address objects: groups flattened, addresses lower-cased, invalid ones dropped. */
export function toMailAddresses(value: AddressObject | AddressObject[] | undefined): MailAddress[] {
  const out: MailAddress[] = [];
  for (const obj of value === undefined ? [] : Array.isArray(value) ? value : [value]) flatten(obj.value, out);
  return out;
}

/**
 * The sender of a mail: the first valid mailbox mailparser found, or, for a broken `From:` line
 * (`John Doe john@example.com`, an address in a comment, unbalanced quotes), the first thing that
 * looks like an address in the decoded line, with the rest of the line as the name.
 */
export function senderFrom(value: AddressObject | undefined, decodedLine: string | null): MailAddress | null {
  const parsed = toMailAddresses(value)[0];
  if (parsed) return parsed;
  const match = decodedLine ? ADDRESS_IN_TEXT.exec(decodedLine) : null;
  if (!match || !decodedLine) return null;
  const rest = (decodedLine.slice(0, match.index) + ' ' + decodedLine.slice(match.index + match[0].length))
    .replace(/[<>()"]/g, ' ')
    .replace(/^\s*,|,\s*$/g, '');
  return { address: match[0].toLowerCase(), name: cleanName(rest) };
}

/** The headers tried, in order, when From has no usable address (as Zammad does). */
const FALLBACK_HEADERS = ['sender', 'reply-to', 'return-path'] as const;

/** A display name only when it has letters or digits (`[??????]` is none). */
function plausibleName(text: string): string {
  const name = cleanName(text.replace(/[<>()"[\]]/g, ' '));
  return /[\p{L}\p{N}]/u.test(name) ? name : '';
}

/**
 * The sender with its source: From's mailbox (see senderFrom) when it has one, else the first
 * address in Sender, Reply-To, Return-Path (the first field of each; `<>` has none). A From with a
 * display name and no address lends the fallback its name when the fallback has none. `headers`
 * is ParsedMail's raw header map.
 */
export function senderWithFallback(
  value: AddressObject | undefined,
  headers: Map<string, string>,
): { from: MailAddress | null; senderSource: SenderSource | null } {
  const line = (name: string) => {
    const raw = headers.get(name)?.split('\n')[0];
    return raw === undefined ? null : decodeHeaderText(raw, false);
  };
  const fromLine = line('from');
  const from = senderFrom(value, fromLine);
  if (from) return { from, senderSource: 'from' };
  for (const name of FALLBACK_HEADERS) {
    const text = line(name);
    const found = text ? senderFrom(undefined, text) : null;
    if (!found) continue;
    const own = found.name.includes('@') ? '' : found.name;
    return { from: { address: found.address, name: own || plausibleName(fromLine ?? '') }, senderSource: name };
  }
  return { from: null, senderSource: null };
}

/** The envelope sender (`From ` line of an mbox, SMTP MAIL FROM) as a sender, when it is an address. */
export function envelopeSender(envelopeFrom: string | null | undefined): MailAddress | null {
  const address = (envelopeFrom ?? '').trim().replace(/^<|>$/g, '').toLowerCase();
  return isAddress(address) ? { address, name: '' } : null;
}

/**
 * The mail with the envelope sender as its sender when no header has an address
 * (`senderSource: 'envelope'`, the sender of last resort); the mail itself otherwise.
 */
export function withEnvelopeSender(mail: ParsedMail, envelopeFrom: string | null | undefined): ParsedMail {
  const envelope = mail.from ? null : envelopeSender(envelopeFrom);
  return envelope ? { ...mail, from: envelope, senderSource: 'envelope' } : mail;
}
