import type { ParsedMail } from '../../src/inbound-mail/parser/parsed-mail';

/** A parsed mail from the customer at `from`, with what a test sets. */
export function mailFrom(from: string, o: Partial<ParsedMail> = {}): ParsedMail {
  return {
    messageId: null,
    inReplyTo: null,
    references: [],
    from: { address: from, name: '' },
    senderSource: 'from',
    replyTo: null,
    to: [],
    cc: [],
    subject: 'Printer is broken',
    date: null,
    text: 'The printer on floor 3 shows E42.',
    html: null,
    attachments: [],
    headers: new Map(),
    contentType: 'text/plain',
    reportType: null,
    size: 100,
    ...o,
  };
}
