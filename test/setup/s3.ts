import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import S3rver from 's3rver';

type S3rverInstance = InstanceType<typeof S3rver>;

/** s3rver's fixed credentials (it checks signatures against them). */
const KEY = 'S3RVER';

/** A real S3-compatible server (s3rver) serving a temporary folder, for one test file. */
export interface TestS3 {
  /** The environment that points MailDesk at it (BLOB_STORE_URL with a prefix, endpoint, path style, keys). */
  env: Record<string, string>;
  bucket: string;
  prefix: string;
  directory: string;
  port: number;
  /** Stops the server (the store is down; its folder stays). */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1, port 0 (then kept for restarts), with one bucket (names need 3+ characters). */
export async function startS3(bucket = 'maildesk-blobs', prefix = 'desk'): Promise<TestS3> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-s3-'));
  let port = 0;
  let server: S3rverInstance | null = null;
  const start = async () => {
    const s = new S3rver({
      address: '127.0.0.1',
      port,
      silent: true,
      directory,
      configureBuckets: [{ name: bucket }],
    });
    port = (await s.run()).port;
    server = s;
  };
  await start();
  const stop = async () => {
    const s = server;
    server = null;
    await s?.close();
  };
  return {
    env: {
      BLOB_STORE_URL: `s3://${bucket}/${prefix}`,
      BLOB_STORE_ENDPOINT: `http://127.0.0.1:${port}`,
      BLOB_STORE_REGION: 'us-east-1',
      BLOB_STORE_FORCE_PATH_STYLE: 'true',
      BLOB_STORE_ACCESS_KEY_ID: KEY,
      BLOB_STORE_SECRET_ACCESS_KEY: KEY,
    },
    bucket,
    prefix,
    directory,
    get port() {
      return port;
    },
    stop,
    start,
    async close() {
      await stop();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
