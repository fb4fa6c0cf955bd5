import * as crypto from 'node:crypto';

/**
 * Below this size a SHA-256 is hashed on the calling thread (a few microseconds; a trip to the
 * thread pool costs more); above it on libuv's thread pool through WebCrypto, so that a 20 MB mail
 * does not hold the event loop for the ~40 ms its hash takes (bench:hostile).
 */
const ON_THREAD_POOL_FROM_BYTES = 256 * 1024;

/** The hex SHA-256 of `data`, off the event loop when `data` is large. */
export async function sha256Hex(data: Buffer): Promise<string> {
  if (data.length < ON_THREAD_POOL_FROM_BYTES) {
    return crypto.createHash('sha256').update(data).digest('hex');
  }
  return Buffer.from(await crypto.webcrypto.subtle.digest('SHA-256', data)).toString('hex');
}
