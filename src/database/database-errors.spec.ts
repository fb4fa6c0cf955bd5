import { BlobStoreUnavailableError } from '../blobs/blob-store';
import { isDatabaseUnavailable, isStorageUnavailable } from './database-errors';

describe('isDatabaseUnavailable', () => {
  it('knows a lost or refused connection by its code, also inside a driver error', () => {
    expect(isDatabaseUnavailable({ code: 'ECONNREFUSED' })).toBe(true);
    expect(isDatabaseUnavailable({ driverError: { code: '57P01' }, message: 'terminating' })).toBe(true);
    expect(isDatabaseUnavailable({ code: '08006' })).toBe(true);
  });

  it('knows the pool and server messages of an unreachable database', () => {
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('the database system is starting up'))).toBe(true);
  });

  it('leaves every other error to its caller', () => {
    expect(isDatabaseUnavailable({ code: '23505', message: 'duplicate key value' })).toBe(false);
    expect(isDatabaseUnavailable(new Error('invalid byte sequence for encoding "UTF8": 0x00'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
  });
});

describe('isStorageUnavailable', () => {
  it('is true for an unreachable database, a blob store outage, and a row whose blob the sweeper just freed', () => {
    expect(isStorageUnavailable({ code: 'ECONNREFUSED' })).toBe(true);
    expect(isStorageUnavailable(new BlobStoreUnavailableError('write', new Error('connect ECONNREFUSED')))).toBe(true);
    expect(isStorageUnavailable({ driverError: { code: '23503', constraint: 'attachments_blob_fk' } })).toBe(true);
    expect(isStorageUnavailable({ driverError: { code: '23503', constraint: 'inbound_mail_raw_blob_fk' } })).toBe(true);
  });

  it('leaves other foreign keys and errors to their callers', () => {
    expect(isStorageUnavailable({ driverError: { code: '23503', constraint: 'messages_request_id_fkey' } })).toBe(
      false,
    );
    expect(isStorageUnavailable(new Error('boom'))).toBe(false);
    expect(isStorageUnavailable(undefined)).toBe(false);
  });
});
