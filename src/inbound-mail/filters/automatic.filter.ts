import { ParsedMail } from '../parser/parsed-mail';
import { headerValue } from '../parser/header-value';
import { CONTINUE, FilterDecision, InboundFilter } from './filter';

/** Out-of-office replies, auto-responders, lists and bulk mail: kept, never answered. */
export const automaticFilter: InboundFilter = {
  name: 'automatic',
  check(mail: ParsedMail): FilterDecision {
    const autoSubmitted = headerValue(mail, 'auto-submitted');
    if (autoSubmitted && !autoSubmitted.startsWith('no'))
      return { action: 'automatic', reason: `automatic: Auto-Submitted: ${autoSubmitted}` };
    const precedence = headerValue(mail, 'precedence');
    if (/^(bulk|junk|list|auto_reply)\b/.test(precedence))
      return { action: 'automatic', reason: `automatic: Precedence: ${precedence}` };
    for (const name of [
      'x-auto-response-suppress',
      'x-autoreply',
      'x-autorespond',
      'x-loop',
      'list-unsubscribe',
      'list-id',
    ]) {
      if (mail.headers.has(name)) return { action: 'automatic', reason: `automatic: ${name} header` };
    }
    return CONTINUE;
  },
};
