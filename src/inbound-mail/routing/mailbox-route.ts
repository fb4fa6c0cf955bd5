import { isAddress } from '../../common/addresses';
import type { MailboxDirectory, MailboxRecord } from '../../mailboxes/mailbox';
import type { ParsedMail } from '../parser/parsed-mail';

/** How an ingest call names the mailbox a mail came to (IngestOptions). */
export interface RouteHints {
  /** The mailbox whose IMAP account the mail was read from (the poller): decides alone when it exists. */
  mailboxId?: number | null;
  /** The SMTP envelope's recipients (RCPT TO), when the mail came by SMTP/LMTP or a provider that gives them. */
  envelopeTo?: readonly string[] | null;
}

/** Why a mail belongs to its mailbox (for the log and the tests). */
export type RouteReason = 'account' | 'recipient' | 'default';

/**
 * The mailbox a mail belongs to. `mailboxId` is what requests and outbox rows store: null for the
 * default mailbox (the environment's; the migration's "NULL is the default mailbox"), so a
 * deployment configured by environment only writes exactly the rows it wrote before mailboxes.
 */
export interface MailRoute {
  mailboxId: number | null;
  /** The mailbox's group: a new request goes to it. */
  groupId: number | null;
  /** The mailbox (null only when the ingest runs without a directory: unit tests of other rules). */
  mailbox: MailboxRecord | null;
  by: RouteReason;
}

/** The route of a deployment without mailboxes: the default mailbox, no group. */
export const DEFAULT_ROUTE: MailRoute = { mailboxId: null, groupId: null, mailbox: null, by: 'default' };

/** The header fields that name a recipient, in the order they are asked (see routingRecipients). */
export const RECIPIENT_HEADERS = ['delivered-to', 'x-original-to'] as const;

/** Recipients looked at, at most: a hostile mail with thousands of To addresses costs no more. */
export const MAX_ROUTING_RECIPIENTS = 100;

const ADDRESS_IN_TEXT = /[^\s<>()",;:@]+@[^\s<>()",;:@]+/g;

/** The addresses in a header field's raw value (every line of a repeated field, top first), lowercase. */
function addressesIn(value: string | undefined): string[] {
  if (!value) return [];
  return (value.match(ADDRESS_IN_TEXT) ?? []).map((a) => a.toLowerCase().replace(/\.$/, '')).filter(isAddress);
}

/**
 * The addresses a mail was delivered to, in the order routing asks them, without repeats:
 *
 * 1. the SMTP envelope's recipients: what this delivery itself was addressed to (a Bcc shows only
 *    there); a `Delivered-To` may be an earlier hop's (a forward), so the envelope comes first;
 * 2. `Delivered-To` (every occurrence, the newest hop first, as MTAs prepend it), then
 *    `X-Original-To`: the mailbox the receiving MTA delivered to, before any alias rewriting;
 * 3. `To`, then `Cc`: what the sender wrote.
 *
 * At most MAX_ROUTING_RECIPIENTS.
 */
export function routingRecipients(
  mail: Pick<ParsedMail, 'headers' | 'to' | 'cc'>,
  envelopeTo: readonly string[] = [],
): string[] {
  const ordered = [
    ...envelopeTo.flatMap((a) => addressesIn(a)),
    ...RECIPIENT_HEADERS.flatMap((name) => addressesIn(mail.headers.get(name))),
    ...mail.to.map((a) => a.address),
    ...mail.cc.map((a) => a.address),
  ];
  return [...new Set(ordered)].slice(0, MAX_ROUTING_RECIPIENTS);
}

/** The route of a mailbox: the default one is stored as null. */
export function routeOf(mailbox: MailboxRecord, by: RouteReason): MailRoute {
  return { mailboxId: mailbox.isDefault ? null : mailbox.id, groupId: mailbox.groupId, mailbox, by };
}

/**
 * API.md "Mailboxes and groups": a mail belongs to the mailbox whose IMAP account it was read from;
 * else to the mailbox of the first of its recipients (routingRecipients) that is a mailbox's
 * address or alias; else to the default mailbox. A disabled mailbox's addresses route to the
 * default mailbox (MailboxDirectory.forRecipients leaves them out): its mail is stored, never lost,
 * and answered from the default mailbox.
 */
export async function routeMail(
  directory: Pick<MailboxDirectory, 'get' | 'forRecipients'>,
  mail: Pick<ParsedMail, 'headers' | 'to' | 'cc'>,
  hints: RouteHints = {},
): Promise<MailRoute> {
  if (hints.mailboxId != null) {
    const account = await directory.get(hints.mailboxId);
    if (account && account.state !== 'disabled') return routeOf(account, 'account');
  }
  const mailbox = await directory.forRecipients(routingRecipients(mail, hints.envelopeTo ?? []));
  return routeOf(mailbox, mailbox.isDefault ? 'default' : 'recipient');
}
