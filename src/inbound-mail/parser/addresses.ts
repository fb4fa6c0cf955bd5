import type { AddressObject, EmailAddress } from 'mailparser';
import { MailAddress } from './parsed-mail';

const ADDRESS = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+$/;
const ADDRESS_IN_TEXT =
  /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+/;

function cleanName(name: string | undefined): string {
  return (name ?? '').replace(/\s+/g, ' ').trim();
}

function flatten(entries: EmailAddress[], out: MailAddress[]): void {
  for (const entry of entries) {
    if (entry.group) flatten(entry.group, out);
    const address = (entry.address ?? '').trim().toLowerCase();
    if (ADDRESS.test(address)) out.push({ address, name: cleanName(entry.name) });
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
