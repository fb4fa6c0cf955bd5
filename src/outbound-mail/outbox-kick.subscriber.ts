import { Injectable } from '@nestjs/common';
import { DataSource, EntitySubscriberInterface, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';
import { OutboxDispatcher } from './outbox.dispatcher';

/** Key set in `queryRunner.data` by OutboxService.enqueue when it runs inside a transaction. */
export const OUTBOX_KICK = 'maildesk.outboxKick';

/**
 * Wakes the dispatcher when a transaction that enqueued mail commits, so an auto-reply leaves
 * within milliseconds rather than at the next poll; a rollback just forgets the mark.
 */
@Injectable()
export class OutboxKickSubscriber implements EntitySubscriberInterface {
  constructor(
    dataSource: DataSource,
    private readonly dispatcher: OutboxDispatcher,
  ) {
    dataSource.subscribers.push(this);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const qr = event.queryRunner;
    if (qr.isTransactionActive || !qr.data?.[OUTBOX_KICK]) return;
    delete qr.data[OUTBOX_KICK];
    this.dispatcher.kick();
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    const qr = event.queryRunner;
    if (!qr.isTransactionActive && qr.data) delete qr.data[OUTBOX_KICK];
  }
}
