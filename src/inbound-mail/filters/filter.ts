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
  { action: 'continue' } | { action: 'ignore' | 'bounce' | 'automatic' | 'quarantine'; reason: string };

export interface InboundFilter {
  readonly name: string;
  check(mail: ParsedMail, config: AppConfig): FilterDecision;
}

export const CONTINUE: FilterDecision = { action: 'continue' };

/** A header's value, trimmed and lower-cased ('' when absent). */
export function header(mail: ParsedMail, name: string): string {
  return (mail.headers.get(name) ?? '').trim().toLowerCase();
}
