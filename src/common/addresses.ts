/**
 * The one home of what an e-mail address is, for every module that checks one (config, the CLI,
 * the parser, the webhook, the outbox, the blocklist). It lives in common/ rather than in
 * inbound-mail/parser/ because config and outbound-mail check addresses too, and they must not
 * import inbound-mail (DESIGN.md 3).
 */

/**
 * One bare address: something, one `@`, something, and none of white space or the RFC 5322
 * specials that would change what a header line means (`<>()",;:`; a second `@`). `a:b@x.com`
 * written into a From line is a group named `a` holding b@x.com, and `x(y)@x.com` is x@x.com with a
 * comment: such a value is not one address. Case is kept (callers lower-case). The local part may
 * hold `[`, `]` and `\`, and the domain may be a literal (`user@[192.0.2.1]`), as mailparser gives them.
 */
const ADDRESS = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+$/;

/** A DNS host name (lower-case): labels of letters, digits, `_` and `-` joined by dots, at most 253 characters. */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/** What a dot-atom local part never holds besides what ADDRESS excludes: the specials `[`, `]` and `\`. */
const LOCAL_SPECIALS = /[[\]\\]/;

/** Longest local part SMTP carries (RFC 5321 4.5.3.1.1). */
const MAX_LOCAL_LENGTH = 64;

/** Whether `value` is one bare address, `local@domain` (see ADDRESS for what that excludes). */
export function isAddress(value: string): boolean {
  return ADDRESS.test(value);
}

/** The part of an address after its last `@` (the whole value when it has none). */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** Whether `value` is a lower-case DNS host name (see HOST_NAME); no `@`, no domain literal. */
export function isHostName(value: string): boolean {
  return HOST_NAME.test(value);
}

/**
 * The routable-address rule, for an address the desk writes as a mail's sender from what a caller
 * typed (the webhook's Apps Script batch): an address (isAddress) whose domain has a dot inside it
 * (`example.com`, not `example` or `example.`) or is `localhost` in any case. A bare host name
 * would make a customer the desk can never answer.
 */
export function isRoutableAddress(value: string): boolean {
  if (!isAddress(value)) return false;
  const domain = domainOf(value);
  return /^.+\..+$/.test(domain) || domain.toLowerCase() === 'localhost';
}

/**
 * The host-address rule, for a lower-case address stored to be matched against senders (a
 * blocklist pattern): an address (isAddress) with a dot-atom local part of at most 64 characters
 * (no `[`, `]` or `\`) at a host name (isHostName, no domain literal).
 */
export function isHostAddress(value: string): boolean {
  if (!isAddress(value)) return false;
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  return local.length <= MAX_LOCAL_LENGTH && !LOCAL_SPECIALS.test(local) && isHostName(value.slice(at + 1));
}

/** Lower-cased bare address from `Name <addr>` or `addr`; '' when there is none. */
export function normalizeAddress(value: string | null | undefined): string {
  if (!value) return '';
  const m = /<([^<>]*)>\s*$/.exec(value);
  return (m ? m[1] : value).trim().toLowerCase();
}

/** A Message-ID without angle brackets or surrounding space. */
export function stripMessageId(value: string | null | undefined): string {
  if (!value) return '';
  return value.trim().replace(/^<+/, '').replace(/>+$/, '').trim();
}
