import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { AuthOperator } from '../common/auth.decorators';
import { OutboxService } from '../outbound-mail/outbox.service';
import type { RequestRecords } from '../requests/request-lifecycle.service';
import { canSeeRequest } from '../requests/request-scope';
import { RequestsService } from '../requests/requests.service';
import { MessagesRepository, type MessagesStore } from './messages.repository';
import { MessagesService, MessageView } from './messages.service';

/**
 * Internal notes: messages of kind `note` in a request's conversation, for operators only. They
 * are never emailed (no outbox row), never thread a customer's mail, and do not count as a response.
 */
@Injectable()
export class NotesService {
  constructor(
    @Inject(MessagesRepository) private readonly store: Pick<MessagesStore, 'transaction'>,
    @Inject(RequestsService) private readonly requests: RequestRecords,
    private readonly messages: MessagesService,
    @Inject(OutboxService) private readonly outbox: Pick<OutboxService, 'newMessageId'>,
  ) {}

  /** Adds a note (any status, closed included) and a `note` event, in one transaction. */
  async add(requestId: number, actor: AuthOperator, text: string): Promise<MessageView> {
    const messageRowId = await this.store.transaction(async (manager) => {
      const request = await this.requests.findById(requestId, manager);
      // A request of another group answers as a missing one (request-scope.ts).
      if (!request || !canSeeRequest(actor, request.groupId)) {
        throw new NotFoundException(`request ${requestId} does not exist`);
      }
      const message = await this.messages.append(manager, {
        requestId,
        direction: 'out',
        kind: 'note',
        operatorId: actor.id,
        fromAddress: actor.email,
        fromName: actor.name,
        to: [],
        subject: 'Internal note',
        text,
        // Unique like every message's; never sent, so never seen outside.
        messageId: this.outbox.newMessageId().replace(/^md-/, 'md-note-'),
      });
      await this.requests.addEvent(manager, requestId, {
        type: 'note',
        actor: 'operator',
        operatorId: actor.id,
        data: { messageId: message.id },
      });
      return message.id;
    });
    return this.messages.view(messageRowId);
  }
}
