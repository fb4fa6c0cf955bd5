import type { AppConfig } from '../../config/config';
import { OWN_MESSAGE_ID_PREFIX } from '../../outbound-mail/outbox.service';
import { ParsedMail } from '../parser/parsed-mail';
import { headerValue } from '../parser/header-value';
import { CONTINUE, FilterDecision, InboundFilter } from './filter';

/** Mail we sent ourselves coming back (From = SUPPORT_ADDRESS, our Message-ID domain, our X-Loop). */
export const ownMailFilter: InboundFilter = {
  name: 'own-mail',
  check(mail: ParsedMail, config: AppConfig): FilterDecision {
    const support = config.mail.supportAddress;
    if (mail.from?.address === support) return { action: 'ignore', reason: 'own mail: sent from the support address' };
    const domain = mail.messageId?.split('@').pop()?.toLowerCase();
    if (domain && domain === config.mail.messageIdDomain && mail.messageId?.startsWith(OWN_MESSAGE_ID_PREFIX)) {
      return { action: 'ignore', reason: "own mail: carries MailDesk's own Message-ID" };
    }
    if (headerValue(mail, 'x-loop').includes(support))
      return { action: 'ignore', reason: 'own mail: X-Loop names the support address' };
    return CONTINUE;
  },
};
