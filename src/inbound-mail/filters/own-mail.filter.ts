import type { AppConfig } from '../../config/config';
import { OWN_MESSAGE_ID_PREFIX } from '../../outbound-mail/outbox.service';
import { ParsedMail } from '../parser/parsed-mail';
import { headerValue } from '../parser/header-value';
import { CONTINUE, FilterDecision, InboundFilter } from './filter';

const ADDRESS_IN_TEXT = /[^\s<>()",;:@]+@[^\s<>()",;:@]+/g;

/**
 * Mail we sent ourselves coming back, or mail one of our mailboxes sent to another (an auto-reply of
 * billing@ landing in support@): From any mailbox's address or alias (SUPPORT_ADDRESS always among
 * them), our Message-ID domain, an X-Loop naming one of them. Stored, never on a request, never
 * answered: two mailboxes never answer each other.
 */
export const ownMailFilter: InboundFilter = {
  name: 'own-mail',
  check(mail: ParsedMail, config: AppConfig, ownAddresses?: ReadonlySet<string>): FilterDecision {
    const support = config.mail.supportAddress;
    const own = (address: string) => address === support || (ownAddresses?.has(address) ?? false);
    const from = mail.from?.address;
    if (from && own(from)) return { action: 'ignore', reason: `own mail: sent from ${described(from, support)}` };
    const domain = mail.messageId?.split('@').pop()?.toLowerCase();
    if (domain && domain === config.mail.messageIdDomain && mail.messageId?.startsWith(OWN_MESSAGE_ID_PREFIX)) {
      return { action: 'ignore', reason: "own mail: carries MailDesk's own Message-ID" };
    }
    const loop = headerValue(mail, 'x-loop');
    if (loop.includes(support)) return { action: 'ignore', reason: 'own mail: X-Loop names the support address' };
    const named = (loop.match(ADDRESS_IN_TEXT) ?? []).find(own);
    if (named) return { action: 'ignore', reason: `own mail: X-Loop names ${described(named, support)}` };
    return CONTINUE;
  },
};

/** "the support address" (the words the loop guard always used), or "our mailbox <address>". */
function described(address: string, support: string): string {
  return address === support ? 'the support address' : `our mailbox ${address}`;
}
