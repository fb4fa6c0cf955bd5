import { ParsedMail } from '../parser/parsed-mail';
import { headerValue } from '../parser/header-value';
import { CONTINUE, FilterDecision, InboundFilter } from './filter';

const DAEMON = /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@/i;

/** Delivery status notifications and other mail from mail systems. */
export const bounceFilter: InboundFilter = {
  name: 'bounce',
  check(mail: ParsedMail): FilterDecision {
    if (mail.contentType === 'multipart/report' && mail.reportType === 'delivery-status') {
      return { action: 'bounce', reason: 'bounce: delivery status report' };
    }
    if (mail.from && DAEMON.test(mail.from.address))
      return { action: 'bounce', reason: `bounce: sent by ${mail.from.address}` };
    if (headerValue(mail, 'return-path') === '<>') return { action: 'bounce', reason: 'bounce: null Return-Path' };
    return CONTINUE;
  },
};
