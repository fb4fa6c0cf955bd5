import type { Readable } from 'node:stream';

/** The token of the BlobStore provider (BlobsModule): the filesystem or S3, by BLOB_STORE_URL. */
export const BLOB_STORE = Symbol('BLOB_STORE');

/** An object opened for reading: its bytes as a stream, and their count (Content-Length). */
export interface OpenedBlob {
  stream: Readable;
  size: number;
}

/**
 * Where blobs live, by their SHA-256 (64 lowercase hex digits). The store knows nothing of the
 * database: BlobsService keeps the `blobs` table that makes writes and deletes crash-safe.
 * Every failure but a missing object is a BlobStoreUnavailableError (the caller retries later).
 */
export interface BlobStore {
  /** What the store is, for logs and `maildesk blobs` (`filesystem /data/blobs`, `s3://bucket/prefix`). */
  readonly description: string;
  /** Writes the object durably unless it exists; resolves once it is durable. */
  putIfAbsent(sha256: string, bytes: Buffer): Promise<void>;
  /** The object as a stream with its size, or null when there is none. */
  open(sha256: string): Promise<OpenedBlob | null>;
  /** Deletes the object (nothing when there is none). */
  delete(sha256: string): Promise<void>;
  /** Whether the object exists. */
  exists(sha256: string): Promise<boolean>;
}

/** The store cannot be reached or failed (S3 down, disk full): the operation may succeed later. */
export class BlobStoreUnavailableError extends Error {
  /** Read by isStorageUnavailable (database/database-errors.ts), which classifies outages for every way in. */
  readonly code = 'BLOB_STORE_UNAVAILABLE';

  constructor(operation: string, cause: unknown) {
    super(`blob store unavailable (${operation}): ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'BlobStoreUnavailableError';
  }
}

/**
 * A stored blob's bytes were missing though a row names them (deleted behind MailDesk's back, a
 * bucket or disk restored without them): no retry brings them back. The API answers 410 with this
 * message (isBlobMissing), the outbox fails the mail for good with it, the export writes a note.
 */
export class BlobMissingError extends Error {
  /** Read by isBlobMissing (database/database-errors.ts). */
  readonly code = 'BLOB_MISSING';

  constructor(sha256: string) {
    super(`blob ${sha256} is missing from the blob store`);
    this.name = 'BlobMissingError';
  }
}

/** True for a SHA-256 as blobs are named: 64 lowercase hex digits. */
export function isBlobName(sha256: string): boolean {
  return /^[0-9a-f]{64}$/.test(sha256);
}
