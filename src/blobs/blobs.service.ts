import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { sha256Hex } from '../common/sha256';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { BLOB_STORE, BlobMissingError, type BlobStore, type OpenedBlob } from './blob-store';
import { BlobsRepository } from './blobs.repository';

/** Blobs one sweep or deleteUnreferenced statement frees at most (its row locks are held while the objects go). */
export const SWEEP_BATCH = 100;

/** A blob to write: its bytes, and their hash when the caller has it already (the parse thread's). */
export interface NewBlob {
  bytes: Buffer;
  sha256?: string;
}

/**
 * Raw mail and attachments, by SHA-256, in the blob store, crash-safe with the database
 * (docs/storage.md):
 *
 * - `put` marks the blobs (the `blobs` table's touched_at, its own statement) and then writes the
 *   objects that are absent, durably, BEFORE the caller's transaction names them; a failure throws
 *   (BlobStoreUnavailableError: the caller answers retry later).
 * - the sweeper (`sweep`) deletes blobs no row names once their grace has passed; a row naming a
 *   blob holds it by foreign key, so a committed row's blob is never deleted.
 * - `deleteUnreferenced` frees given blobs at once when no row names them any more (retention,
 *   a customer's erasure).
 */
@Injectable()
export class BlobsService {
  private readonly logger = new Logger(BlobsService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BLOB_STORE) readonly store: BlobStore,
    private readonly repository: BlobsRepository,
  ) {}

  /** Writes the blobs (each once) durably; their hashes, in order. Call it before the transaction that names them. */
  async put(blobs: readonly NewBlob[]): Promise<string[]> {
    const hashes = await Promise.all(blobs.map(async (b) => b.sha256 ?? (await sha256Hex(b.bytes))));
    const unique = new Map<string, Buffer>();
    hashes.forEach((h, i) => unique.set(h, blobs[i].bytes));
    await this.repository.touch([...unique].map(([sha256, bytes]) => ({ sha256, size: bytes.length })));
    for (const [sha256, bytes] of unique) await this.store.putIfAbsent(sha256, bytes);
    return hashes;
  }

  /** A blob as a stream with its size; BlobMissingError when the store has none. */
  async open(sha256: string): Promise<OpenedBlob> {
    const blob = await this.store.open(sha256);
    if (!blob) throw new BlobMissingError(sha256);
    return blob;
  }

  /** A blob's bytes whole (a raw mail to replay: bounded by MAX_INBOUND_BYTES when it was stored). */
  async read(sha256: string): Promise<Buffer> {
    const { stream } = await this.open(sha256);
    return readAll(stream);
  }

  /**
   * Deletes, with their objects, the given blobs that no row names any more (attachments,
   * inbound_mail), at once: for a caller that just deleted those rows (retention, a customer's
   * erasure). A blob a writer holds at that moment is kept (the sweeper sees it later). The hashes deleted.
   */
  async deleteUnreferenced(hashes: readonly string[]): Promise<string[]> {
    const unique = [...new Set(hashes)];
    const deleted: string[] = [];
    for (let at = 0; at < unique.length; at += SWEEP_BATCH) {
      const batch = unique.slice(at, at + SWEEP_BATCH);
      deleted.push(
        ...(await this.repository.transaction(async (tx) => {
          const gone = await this.repository.deleteUnreferenced(tx, batch);
          await this.deleteObjects(gone);
          return gone;
        })),
      );
    }
    return deleted;
  }

  /**
   * One sweep: blobs untouched for BLOB_SWEEP_GRACE_MINUTES (or `graceSeconds`) that no row names,
   * deleted a batch per transaction (rows locked, objects deleted, then commit). The count deleted.
   */
  async sweep(graceSeconds = this.config.blobs.sweepGraceMinutes * 60): Promise<number> {
    let total = 0;
    for (;;) {
      const gone = await this.repository.transaction(async (tx) => {
        const batch = await this.repository.sweepBatch(tx, graceSeconds, SWEEP_BATCH);
        await this.deleteObjects(batch);
        return batch;
      });
      total += gone.length;
      if (gone.length < SWEEP_BATCH) return total;
    }
  }

  /** Deletes objects whose rows the caller's transaction deleted (a failure rolls the rows back). */
  private async deleteObjects(hashes: readonly string[]): Promise<void> {
    for (const h of hashes) await this.store.delete(h);
    if (hashes.length) this.logger.debug?.(`${hashes.length} blob(s) deleted from ${this.store.description}`);
  }
}

/** Reads a stream whole. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}
