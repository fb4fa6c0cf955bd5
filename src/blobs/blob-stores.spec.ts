import { jest } from '@jest/globals';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startS3, type TestS3 } from '../../test/setup/s3';
import { type BlobStore, BlobStoreUnavailableError } from './blob-store';
import { readAll } from './blobs.service';
import { FsBlobStore } from './fs-blob-store';
import { S3BlobStore } from './s3-blob-store';

const hash = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe.each(['filesystem', 's3'] as const)('BlobStore on %s', (kind) => {
  let store: BlobStore;
  let s3: TestS3 | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-blobs-'));
    if (kind === 'filesystem') {
      store = new FsBlobStore(dir);
    } else {
      s3 = await startS3();
      store = new S3BlobStore({
        url: s3.env.BLOB_STORE_URL,
        endpoint: s3.env.BLOB_STORE_ENDPOINT,
        region: 'us-east-1',
        forcePathStyle: true,
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        requestTimeoutMs: 5_000,
      });
    }
  });
  afterAll(async () => {
    if (store instanceof S3BlobStore) store.destroy();
    await s3?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes a blob once, reads it back as a stream with its size, and deletes it', async () => {
    const bytes = crypto.randomBytes(300_000);
    const h = hash(bytes);
    await expect(store.exists(h)).resolves.toBe(false);
    await expect(store.open(h)).resolves.toBeNull();
    await store.putIfAbsent(h, bytes);
    await store.putIfAbsent(h, bytes); // present: not written again
    await expect(store.exists(h)).resolves.toBe(true);
    const opened = await store.open(h);
    expect(opened!.size).toBe(bytes.length);
    expect((await readAll(opened!.stream)).equals(bytes)).toBe(true);
    await store.delete(h);
    await store.delete(h); // absent: nothing to do
    await expect(store.exists(h)).resolves.toBe(false);
  });

  it('refuses a name that is not a SHA-256 (no path or key outside the store)', async () => {
    await expect(store.putIfAbsent('../../etc/passwd', Buffer.from('x'))).rejects.toThrow();
    await expect(store.open('A'.repeat(64))).rejects.toThrow(/not a blob name/);
  });

  if (kind === 'filesystem') {
    it('fans files out by hash prefix and leaves no temporary file', async () => {
      const bytes = Buffer.from('fan out');
      const h = hash(bytes);
      await store.putIfAbsent(h, bytes);
      const file = path.join(dir, h.slice(0, 2), h.slice(2, 4), h);
      expect(fs.readFileSync(file).equals(bytes)).toBe(true);
      expect(fs.readdirSync(path.dirname(file))).toEqual([h]);
    });

    it('creates a missing fan-out directory again, and leaves no temporary file when the rename fails', async () => {
      const bytes = Buffer.from('directory removed under the store');
      const h = hash(bytes);
      fs.rmSync(path.join(dir, h.slice(0, 2)), { recursive: true, force: true });
      await store.putIfAbsent(h, bytes);
      expect(fs.readFileSync(path.join(dir, h.slice(0, 2), h.slice(2, 4), h)).equals(bytes)).toBe(true);

      const other = Buffer.from('its name taken by a directory');
      const o = hash(other);
      const target = path.join(dir, o.slice(0, 2), o.slice(2, 4), o);
      fs.mkdirSync(path.join(target, 'x'), { recursive: true });
      jest.spyOn(store, 'exists').mockResolvedValueOnce(false);
      await expect(store.putIfAbsent(o, other)).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      expect(fs.readdirSync(path.dirname(target))).toEqual([o]);
      fs.rmSync(target, { recursive: true });
    });
  } else {
    it('stores under the prefix, and says unavailable (not missing) while the server is stopped', async () => {
      const bytes = Buffer.from('prefixed');
      const h = hash(bytes);
      await store.putIfAbsent(h, bytes);
      expect((store as S3BlobStore).keyOf(h)).toBe(`desk/${h.slice(0, 2)}/${h}`);
      await s3!.stop();
      try {
        await expect(store.open(h)).rejects.toBeInstanceOf(BlobStoreUnavailableError);
        await expect(store.putIfAbsent(hash(Buffer.from('y')), Buffer.from('y'))).rejects.toBeInstanceOf(
          BlobStoreUnavailableError,
        );
      } finally {
        await s3!.start();
      }
      await expect(store.exists(h)).resolves.toBe(true);
    });
  }
});
