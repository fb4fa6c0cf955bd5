import * as crypto from 'node:crypto';
import { sha256Hex } from './sha256';

describe('sha256Hex', () => {
  it.each([0, 1, 256 * 1024 - 1, 256 * 1024, 3 * 1024 * 1024 + 7])('agrees with node:crypto at %i bytes', async (n) => {
    const data = crypto.randomBytes(n);
    await expect(sha256Hex(data)).resolves.toBe(crypto.createHash('sha256').update(data).digest('hex'));
  });

  it('hashes a large buffer in shared memory (which WebCrypto refuses)', async () => {
    const shared = Buffer.from(new SharedArrayBuffer(512 * 1024));
    crypto.randomFillSync(shared);
    await expect(sha256Hex(shared)).resolves.toBe(crypto.createHash('sha256').update(shared).digest('hex'));
  });

  it('hashes a view of a larger buffer, not the whole buffer', async () => {
    const whole = crypto.randomBytes(1024 * 1024);
    const view = whole.subarray(1000, 600_000);
    await expect(sha256Hex(view)).resolves.toBe(crypto.createHash('sha256').update(view).digest('hex'));
  });
});
