import type { AppConfig } from '../../config/config';
import { ParsedMail } from '../parser/parsed-mail';
import { automaticFilter } from './automatic.filter';
import { bounceFilter } from './bounce.filter';
import { CONTINUE, FilterDecision, InboundFilter } from './filter';
import { ownMailFilter } from './own-mail.filter';
import { sizeFilter } from './size.filter';

/** The inbound filters, in the order they run; the first decision other than `continue` wins. */
export const INBOUND_FILTERS: readonly InboundFilter[] = [sizeFilter, ownMailFilter, bounceFilter, automaticFilter];

export function runFilters(mail: ParsedMail, config: AppConfig, filters = INBOUND_FILTERS): FilterDecision {
  for (const f of filters) {
    const d = f.check(mail, config);
    if (d.action !== 'continue') return d;
  }
  return CONTINUE;
}

export type { FilterDecision, InboundFilter } from './filter';
