import { jest } from '@jest/globals';
import { fakeTransaction } from '../../test/fakes/transaction';
import { afterCommit } from './after-commit';

describe('afterCommit', () => {
  it('runs at once outside a transaction', () => {
    const { manager, subscribers } = fakeTransaction(false);
    const fn = jest.fn();
    afterCommit(manager, fn);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(subscribers).toHaveLength(0);
  });

  it('runs when the transaction commits, once however often it was asked', () => {
    const { manager, subscribers, commit } = fakeTransaction();
    const wake = jest.fn();
    const other = jest.fn();
    afterCommit(manager, wake);
    afterCommit(manager, wake);
    afterCommit(manager, other);
    expect(wake).not.toHaveBeenCalled();
    expect(subscribers).toHaveLength(1);
    commit();
    expect(wake).toHaveBeenCalledTimes(1);
    expect(other).toHaveBeenCalledTimes(1);
    commit(); // a later transaction on the same runner that asked nothing
    expect(wake).toHaveBeenCalledTimes(1);
  });

  it('waits for the outer transaction when a savepoint is released', () => {
    const { manager, qr, subscribers, commit } = fakeTransaction();
    const fn = jest.fn();
    afterCommit(manager, fn);
    void subscribers[0].afterTransactionCommit?.({ queryRunner: qr } as never); // still active: a savepoint
    expect(fn).not.toHaveBeenCalled();
    commit();
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('forgets what a rolled back transaction asked', () => {
    const { manager, commit, rollback } = fakeTransaction();
    const fn = jest.fn();
    afterCommit(manager, fn);
    rollback();
    commit();
    expect(fn).not.toHaveBeenCalled();
  });
});
