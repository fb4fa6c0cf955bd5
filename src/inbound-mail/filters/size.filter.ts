import type { AppConfig } from '../../config/config';
import { ParsedMail } from '../parser/parsed-mail';
import { CONTINUE, FilterDecision, InboundFilter } from './filter';

/** Larger than INBOUND_MAX_BYTES: kept raw in quarantine (the webhook refuses such bodies with 413 earlier). */
export const sizeFilter: InboundFilter = {
  name: 'size',
  check(mail: ParsedMail, config: AppConfig): FilterDecision {
    return mail.size > config.mail.maxInboundBytes
      ? { action: 'quarantine', reason: `too large: ${mail.size} bytes (limit ${config.mail.maxInboundBytes})` }
      : CONTINUE;
  },
};
