import { lsnValue } from './read-positions.repository';
import { isReplicaFailure } from './read-replicas.service';

describe('lsnValue', () => {
  it('orders WAL positions as PostgreSQL does (the high half first)', () => {
    expect(lsnValue('0/16B3748')).toBe(0x16b3748n);
    expect(lsnValue('1/0')).toBe(1n << 32n);
    expect(lsnValue('1/0') > lsnValue('0/FFFFFFFF')).toBe(true);
    expect(lsnValue('A/B') < lsnValue('a/c')).toBe(true);
  });

  it('refuses anything else', () => {
    for (const bad of ['', '0', '0/', '/1', '123456789/0', '0/G', ' 0/1']) expect(() => lsnValue(bad)).toThrow();
  });
});

describe('isReplicaFailure', () => {
  const pgError = (code: string) => Object.assign(new Error('x'), { code, severity: 'ERROR' });

  it("is the standby's failure for network errors and its connection, shutdown, resource and recovery-conflict states", () => {
    expect(isReplicaFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isReplicaFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    for (const code of ['08006', '57P01', '57P03', '53300', '40001'])
      expect(isReplicaFailure(pgError(code))).toBe(true);
    // As TypeORM wraps it (QueryFailedError.driverError).
    expect(isReplicaFailure({ driverError: pgError('57P01') })).toBe(true);
  });

  it("is the statement's own error otherwise (no retry on the primary)", () => {
    for (const code of ['42601', '22P02', '42P01', '23505']) expect(isReplicaFailure(pgError(code))).toBe(false);
    expect(isReplicaFailure({ driverError: pgError('22P02') })).toBe(false);
  });
});
