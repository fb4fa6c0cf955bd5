import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AppConfig } from '../config/config';
import { EMBEDDED_POOL_SIZE } from './embedded-database';
import { type DatabaseHandle, lockDataDir, startEmbeddedPostgres } from './embedded-postgres';

/**
 * pglite-socket's connection limit: the pool (EMBEDDED_POOL_SIZE), the migrations' own
 * connection, and slack for a connection the pool replaces before the old socket is closed.
 */
const EMBEDDED_MAX_CONNECTIONS = EMBEDDED_POOL_SIZE + 10;

/**
 * The embedded database thread's young generation, in MB (V8's default let it grow to 28 MB under
 * webhook load: pglite-socket's and PGlite's buffers of each protocol message, all short-lived):
 * 16-26 MB off the embedded load peaks, the same ingest rate (docs/performance.md, "Embedded
 * database memory").
 */
export const EMBEDDED_THREAD_YOUNG_MB = 8;

/**
 * DATABASE_URL when set; else the embedded PostgreSQL in DATA_DIR/pgdata. This module loads nothing
 * heavy, so that src/main.ts can start the embedded database before it loads the app.
 */
export async function openDatabase(config: AppConfig): Promise<DatabaseHandle> {
  if (config.database.url) return { url: config.database.url, embedded: false, close: async () => {} };
  const dir = path.join(config.dataDir, 'pgdata');
  const worker = workerFile();
  return worker
    ? startEmbeddedPostgresThread(worker, dir, EMBEDDED_MAX_CONNECTIONS)
    : startEmbeddedPostgres(dir, EMBEDDED_MAX_CONNECTIONS);
}

/**
 * The embedded database on a thread of its own (src/database/embedded-worker.ts): PostgreSQL's
 * work (WASM) no longer holds the event loop that serves HTTP, and at start PGlite opens its
 * cluster on the second core while the app's modules load on the first (restart 1.30 -> 1.03 s:
 * docs/performance.md, "The embedded database on its own thread"). If the thread dies, the process
 * exits: every query would fail from then on.
 */
export async function startEmbeddedPostgresThread(
  file: string,
  dir: string,
  maxConnections: number,
): Promise<DatabaseHandle> {
  const release = lockDataDir(dir);
  const worker = new Worker(file, {
    workerData: { dir, maxConnections },
    resourceLimits: { maxYoungGenerationSizeMb: EMBEDDED_THREAD_YOUNG_MB },
  });
  let closing = false;
  let url: string;
  let onMessage: (m: { url?: string; error?: string }) => void = () => {};
  let onError: (e: Error) => void = () => {};
  let onExit: (code: number) => void = () => {};
  try {
    url = await new Promise<string>((resolve, reject) => {
      const failed = (why: string) => reject(new Error(`the embedded database did not start: ${why}`));
      onMessage = (m) => (m.url ? resolve(m.url) : failed(m.error ?? 'no reason given'));
      onError = (e) => failed(e.message);
      onExit = (code) => failed(`its thread exited with ${code}`);
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
  } catch (e) {
    await worker.terminate();
    release();
    throw e;
  } finally {
    // Not removeAllListeners(): the worker's own listeners keep its message port referenced.
    worker.off('message', onMessage).off('error', onError).off('exit', onExit);
  }
  worker.on('error', (e) => {
    console.error(`maildesk: the embedded database failed: ${e.stack ?? e.message}`);
    process.exit(1);
  });
  worker.on('exit', (code) => {
    if (closing) return;
    console.error(`maildesk: the embedded database's thread exited (${code})`);
    process.exit(1);
  });
  return {
    url,
    embedded: true,
    async close() {
      closing = true;
      try {
        await new Promise<void>((resolve, reject) => {
          worker.once('message', (m: 'closed' | { error: string }) =>
            m === 'closed' ? resolve() : reject(new Error(`closing the embedded database: ${m.error}`)),
          );
          worker.postMessage('close');
        });
      } finally {
        await worker.terminate();
        release();
      }
    },
  };
}

/** The built worker (dist/src/database/embedded-worker.js); undefined under Jest, which runs src/ as ESM. */
function workerFile(): string | undefined {
  if (typeof __dirname !== 'string') return undefined;
  const file = path.join(__dirname, 'embedded-worker.js');
  return fs.existsSync(file) ? file : undefined;
}
