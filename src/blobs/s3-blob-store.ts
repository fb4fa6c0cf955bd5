import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
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

/** The two AWS SDK packages the store uses. */
interface Sdk {
  s3: typeof import('@aws-sdk/client-s3');
  storage: typeof import('@aws-sdk/lib-storage');
}

let sdk: Promise<Sdk> | undefined;

/**
 * The AWS SDK, loaded when the first S3 store is made, not when this module is: a process on the
 * filesystem store (the default) does without it (~0.2 s to load; at rest on PostgreSQL, RSS
 * 150-154 MB without it against 155-159 with it, in interleaved pairs).
 */
function loadSdk(): Promise<Sdk> {
  sdk ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]).then(([s3, storage]) => ({
    s3,
    storage,
  }));
  return sdk;
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
  /** The SDK and this store's client, once loaded (a failure to load fails each call as the store being down). */
  private readonly ready: Promise<Sdk & { client: S3Client }>;

  constructor(options: S3BlobStoreOptions) {
    const url = new URL(options.url);
    this.bucket = url.hostname;
    this.prefix = url.pathname.replace(/^\/+|\/+$/g, '');
    this.description = `s3://${this.bucket}${this.prefix ? '/' + this.prefix : ''}`;
    // The SDK's own switch for its "Node.js < 22 will lose support" warning (printed once per
    // process on Node 20): the operator chose the Node version, a warning on every start helps nobody.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.ready = loadSdk().then((loaded) => ({ ...loaded, client: this.createClient(loaded, options) }));
    this.ready.catch(() => undefined);
  }

  private createClient({ s3 }: Sdk, options: S3BlobStoreOptions): S3Client {
    return new s3.S3Client({
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

  /** This store's S3 client (the SDK loaded first). */
  async client(): Promise<S3Client> {
    return (await this.ready).client;
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
      const { storage, client } = await this.ready;
      const upload = new storage.Upload({
        client,
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
      const { s3, client } = await this.ready;
      const out = await client.send(new s3.GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }));
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
      const { s3, client } = await this.ready;
      await client.send(new s3.DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw new BlobStoreUnavailableError('delete', e);
    }
  }

  async exists(sha256: string): Promise<boolean> {
    try {
      const { s3, client } = await this.ready;
      await client.send(new s3.HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw new BlobStoreUnavailableError('read', e);
    }
  }

  /** Closes the client's sockets (at shutdown). */
  destroy(): void {
    this.ready.then(({ client }) => client.destroy()).catch(() => undefined);
  }
}

/** True for S3's "no such key" (GET) and the bare 404 of a HEAD. */
function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404;
}
