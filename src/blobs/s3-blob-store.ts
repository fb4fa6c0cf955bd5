import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type BlobStore, BlobStoreUnavailableError, isBlobName, type OpenedBlob } from './blob-store';

/** What the S3 store is given (AppConfig.blobs). */
export interface S3BlobStoreOptions {
  /** `s3://bucket/optional/prefix`. */
  url: string;
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Milliseconds one request may take before it fails (the store is then taken as down). */
  requestTimeoutMs?: number;
}

/** Parts above this size go up as a multipart upload (lib-storage's Upload), in parts of this size. */
const PART_BYTES = 8 * 1024 * 1024;

/**
 * Blobs as objects of an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, s3rver...), under
 * `prefix/ab/<sha256>`. A PUT is atomic and durable when it answers (S3's own guarantee); a blob
 * is HEADed first and not written again when it exists.
 */
export class S3BlobStore implements BlobStore {
  readonly description: string;
  readonly bucket: string;
  private readonly prefix: string;
  readonly client: S3Client;

  constructor(options: S3BlobStoreOptions) {
    const url = new URL(options.url);
    this.bucket = url.hostname;
    this.prefix = url.pathname.replace(/^\/+|\/+$/g, '');
    this.description = `s3://${this.bucket}${this.prefix ? '/' + this.prefix : ''}`;
    // The SDK's own switch for its "Node.js < 22 will lose support" warning (printed once per
    // process on Node 20): the operator chose the Node version, a warning on every start helps nobody.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
        : {}),
      maxAttempts: 2,
      requestHandler: {
        connectionTimeout: 5_000,
        requestTimeout: options.requestTimeoutMs ?? 60_000,
      },
    });
  }

  /** The object key of a blob. */
  keyOf(sha256: string): string {
    if (!isBlobName(sha256)) throw new Error(`not a blob name: ${sha256.slice(0, 80)}`);
    const key = `${sha256.slice(0, 2)}/${sha256}`;
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async putIfAbsent(sha256: string, bytes: Buffer): Promise<void> {
    const Key = this.keyOf(sha256);
    try {
      if (await this.exists(sha256)) return;
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: bytes, ContentType: 'application/octet-stream' },
        partSize: PART_BYTES,
        queueSize: 2,
      });
      await upload.done();
    } catch (e) {
      if (e instanceof BlobStoreUnavailableError) throw e;
      throw new BlobStoreUnavailableError('write', e);
    }
  }

  async open(sha256: string): Promise<OpenedBlob | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }));
      const body = out.Body;
      if (!(body instanceof Readable)) throw new Error('the S3 client gave no Node stream');
      return { stream: body, size: Number(out.ContentLength ?? 0) };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw new BlobStoreUnavailableError('read', e);
    }
  }

  async delete(sha256: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw new BlobStoreUnavailableError('delete', e);
    }
  }

  async exists(sha256: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw new BlobStoreUnavailableError('read', e);
    }
  }

  /** Closes the client's sockets (at shutdown). */
  destroy(): void {
    this.client.destroy();
  }
}

/** True for S3's "no such key" (GET) and the bare 404 of a HEAD. */
function isNotFound(e: unknown): boolean {
  if (e instanceof NoSuchKey || e instanceof NotFound) return true;
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404;
}
