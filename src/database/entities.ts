import { InboundMail } from '../inbound-mail/inbound-mail.entity';
import { MailboxCursor } from '../inbound-mail/mailbox-cursor.entity';
import { Attachment } from '../messages/attachment.entity';
import { Message } from '../messages/message.entity';
import { Operator } from '../operators/operator.entity';
import { OutboxMail } from '../outbound-mail/outbox.entity';
import { Customer } from '../requests/customer.entity';
import { RequestEvent } from '../requests/request-event.entity';
import { ServiceRequest } from '../requests/request.entity';

/** Every entity, listed once for the app, the CLI and the tests. */
export const ENTITIES = [
  Operator,
  Customer,
  ServiceRequest,
  RequestEvent,
  Message,
  Attachment,
  InboundMail,
  MailboxCursor,
  OutboxMail,
];
