import { jest } from '@jest/globals';
import type { LeaseStore } from '../../src/database/lease-queue.repository';

/** A lease queue's store that hands out `rows` at the first claim and nothing after, recording how each is marked. */
export function leasesHanding<T>(rows: T[]) {
  let claims = 0;
  return {
    claim: jest.fn(() => Promise.resolve(claims++ === 0 ? rows : [])),
    markDone: jest.fn(() => Promise.resolve()),
    markFailed: jest.fn(() => Promise.resolve()),
    retryIn: jest.fn(() => Promise.resolve()),
    release: jest.fn(() => Promise.resolve()),
  } satisfies LeaseStore<T>;
}
