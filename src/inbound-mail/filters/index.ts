import type { BlocklistService } from '../../blocklist/blocklist.service';
import type { AppConfig } from '../../config/config';
import { ParsedMail } from '../parser/parsed-mail';
import { automaticFilter } from './automatic.filter';
import { bounceFilter } from './bounce.filter';
import { CONTINUE, FilterDecision, InboundFilter } from './filter';
import { ownMailFilter } from './own-mail.filter';
import { sizeFilter } from './size.filter';

/** The inbound filters, in the order they run; the first decision other than `continue` wins. */
export const INBOUND_FILTERS: readonly InboundFilter[] = [sizeFilter, ownMailFilter, bounceFilter, automaticFilter];

export function runFilters(
  mail: ParsedMail,
  config: AppConfig,
  filters = INBOUND_FILTERS,
  ownAddresses?: ReadonlySet<string>,
): FilterDecision {
  for (const f of filters) {
    const d = f.check(mail, config, ownAddresses);
    if (d.action !== 'continue') return d;
  }
  return CONTINUE;
}

/** The one blocklist question the filter step asks (BlocklistService; a fake in unit tests). */
export type SenderBlocklist = Pick<BlocklistService, 'match'>;

/**
 * The ingest pipeline's filter step: the header filters (INBOUND_FILTERS) first, so that our own
 * mail and bounces stay what they are; then, for mail that would go on the sender's request, the
 * sender: without an address it is quarantined (nor in Sender, Reply-To, Return-Path or the
 * envelope; the reason is kept as it always was), a blocked one is ignored (a database check, the
 * only one of this step). `ownAddresses`: every mailbox's addresses, for the loop guard (ownMailFilter).
 */
export async function filterMail(
  mail: ParsedMail,
  config: AppConfig,
  blocklist: SenderBlocklist,
  ownAddresses?: ReadonlySet<string>,
): Promise<FilterDecision> {
  const decision = runFilters(mail, config, INBOUND_FILTERS, ownAddresses);
  if (decision.action !== 'continue' && decision.action !== 'automatic') return decision;
  const sender = mail.from?.address ?? '';
  if (!sender) return { action: 'quarantine', reason: 'no sender address in From' };
  const blocked = await blocklist.match(sender);
  return blocked ? { action: 'ignore', reason: `sender is blocked: ${blocked.pattern}` } : decision;
}

export type { AdmitDecision, FilterDecision, InboundFilter } from './filter';
