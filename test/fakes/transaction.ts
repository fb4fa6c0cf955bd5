import type { EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';

/** A manager in a transaction (or in none), with its data source's subscribers: what unit tests of commit hooks need, without a database. */
export interface FakeTransaction {
  manager: EntityManager;
  qr: QueryRunner;
  subscribers: EntitySubscriberInterface[];
  /** Ends the transaction as TypeORM does: no longer active, then the subscribers are told. */
  commit(): void;
  rollback(): void;
}

export function fakeTransaction(active = true): FakeTransaction {
  const subscribers: EntitySubscriberInterface[] = [];
  const qr = { isTransactionActive: active, data: {} } as unknown as QueryRunner;
  const manager = { queryRunner: qr, dataSource: { subscribers } } as unknown as EntityManager;
  const end = (hook: 'afterTransactionCommit' | 'afterTransactionRollback') => {
    (qr as { isTransactionActive: boolean }).isTransactionActive = false;
    for (const s of subscribers) void s[hook]?.({ queryRunner: qr } as never);
  };
  return {
    manager,
    qr,
    subscribers,
    commit: () => end('afterTransactionCommit'),
    rollback: () => end('afterTransactionRollback'),
  };
}
