import type {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  QueryRunner,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';

/** Key in `queryRunner.data` of the callbacks waiting for the transaction to commit. */
const AFTER_COMMIT = 'maildesk.afterCommit';

function pendingOf(qr: QueryRunner): Set<() => void> | undefined {
  return qr.data?.[AFTER_COMMIT] as Set<() => void> | undefined;
}

/**
 * Runs the callbacks of a transaction when it commits, and forgets them when it rolls back. TypeORM
 * tells subscribers of a savepoint's release and rollback too (the transaction still active then):
 * those wait for the outer transaction.
 */
const subscriber: EntitySubscriberInterface = {
  afterTransactionCommit(event: TransactionCommitEvent): void {
    const qr = event.queryRunner;
    const pending = pendingOf(qr);
    if (qr.isTransactionActive || !pending) return;
    delete qr.data[AFTER_COMMIT];
    for (const fn of pending) fn();
  },
  afterTransactionRollback(event: TransactionRollbackEvent): void {
    const qr = event.queryRunner;
    if (!qr.isTransactionActive && pendingOf(qr)) delete qr.data[AFTER_COMMIT];
  },
};

/** Adds the subscriber to the DataSource once (its list is rebuilt when it is initialised again). */
function subscribe(dataSource: DataSource): void {
  if (!dataSource.subscribers.includes(subscriber)) dataSource.subscribers.push(subscriber);
}

/**
 * Runs `fn` once the transaction `manager` runs in commits, right after its COMMIT (before the
 * caller's `transaction()` resolves), or at once when `manager` is in no transaction; never when the
 * transaction rolls back. A transaction that asks several times with the same `fn` (three mails
 * queued) runs it once.
 */
export function afterCommit(manager: EntityManager, fn: () => void): void {
  const qr = manager.queryRunner;
  if (!qr?.isTransactionActive) {
    fn();
    return;
  }
  subscribe(manager.dataSource);
  let pending = pendingOf(qr);
  if (!pending) qr.data[AFTER_COMMIT] = pending = new Set();
  pending.add(fn);
}
