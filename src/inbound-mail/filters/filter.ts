import type { AppConfig } from '../../config/config';
import { ParsedMail } from '../parser/parsed-mail';

/**
 * What a filter decides about one email:
 * - `continue`: not this filter's business;
 * - `ignore`: stored raw in inbound_mail only, never on a request, never answered (our own mail);
 * - `bounce`: a delivery report: attached to the request it refers to when found, never answered;
 * - `automatic`: automatic mail (out-of-office, lists): stored on the sender's request, never answered;
 * - `quarantine`: kept raw with the reason, for an admin to look at and replay.
 */
export type FilterDecision =
  | { action: 'continue' }
  | { action: 'ignore'; reason: string }
  | { action: 'bounce'; reason: string }
  | { action: 'automatic'; reason: string }
  | { action: 'quarantine'; reason: string };

/** A decision that lets the mail in: it is claimed and filed (on a request, or on none as `ignored`). */
export type AdmitDecision = Exclude<FilterDecision, { action: 'quarantine' }>;

export interface InboundFilter {
  readonly name: string;
  /**
   * `ownAddresses`: every address and alias of every mailbox, lowercase (MailboxDirectory.ownAddresses);
   * absent where there are no mailboxes but the environment's (SUPPORT_ADDRESS).
   */
  check(mail: ParsedMail, config: AppConfig, ownAddresses?: ReadonlySet<string>): FilterDecision;
}

export const CONTINUE: FilterDecision = { action: 'continue' };
