import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BlobStore, BlobStoreUnavailableError, isBlobName, type OpenedBlob } from './blob-store';

/**
 * Blobs as files under `root` (DATA_DIR/blobs), fanned out by the first two bytes of the hash:
 * `root/ab/cd/abcd...` (65,536 directories at most, a few thousand files each per hundred million
 * blobs). A write goes to a temporary file in the target directory, is fsynced, renamed into place
 * and the directory fsynced: a crash leaves the whole file or none (at worst a stray `.<hash>.*.tmp`
 * beside it, which nothing reads). Two writers of one blob write the same bytes, so
 * the second rename is harmless.
 */
export class FsBlobStore implements BlobStore {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `filesystem ${root}`;
  }

  /** The file of a blob. */
  pathOf(sha256: string): string {
    if (!isBlobName(sha256)) throw new Error(`not a blob name: ${sha256.slice(0, 80)}`);
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async putIfAbsent(sha256: string, bytes: Buffer): Promise<void> {
    const file = this.pathOf(sha256);
    try {
      if (await this.exists(sha256)) return;
      const dir = path.dirname(file);
      const tmp = path.join(dir, `.${sha256}.${process.pid}.${crypto.randomUUID()}.tmp`);
      const handle = await openCreating(tmp, dir);
      try {
        try {
          await handle.writeFile(bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fs.promises.rename(tmp, file);
      } catch (e) {
        // Renamed, the temporary file is gone: only a failed write or rename leaves one to remove.
        await fs.promises.unlink(tmp).catch(() => undefined);
        throw e;
      }
      await syncDirectory(dir);
    } catch (e) {
      throw new BlobStoreUnavailableError('write', e);
    }
  }

  async open(sha256: string): Promise<OpenedBlob | null> {
    const file = this.pathOf(sha256);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new BlobStoreUnavailableError('read', e);
    }
    try {
      const { size } = await handle.stat();
      return { stream: handle.createReadStream({ autoClose: true }), size };
    } catch (e) {
      await handle.close();
      throw new BlobStoreUnavailableError('read', e);
    }
  }

  async delete(sha256: string): Promise<void> {
    try {
      await fs.promises.rm(this.pathOf(sha256), { force: true });
    } catch (e) {
      throw new BlobStoreUnavailableError('delete', e);
    }
  }

  async exists(sha256: string): Promise<boolean> {
    try {
      await fs.promises.access(this.pathOf(sha256));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new BlobStoreUnavailableError('read', e);
    }
  }
}

/**
 * Creates and opens `file` (which must not exist) for writing in `dir`, creating `dir` only when
 * it is missing: its fan-out directory exists for all but the first blobs of a store, so the
 * mkdir (a thread-pool call and two system calls) is paid once per directory, not once per blob.
 */
async function openCreating(file: string, dir: string): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(file, 'wx', 0o640);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await fs.promises.mkdir(dir, { recursive: true });
    return fs.promises.open(file, 'wx', 0o640);
  }
}

/** fsyncs a directory so a rename in it is durable (best effort: not every file system allows it). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on some platforms: the rename is still atomic.
  } finally {
    await handle?.close();
  }
}
