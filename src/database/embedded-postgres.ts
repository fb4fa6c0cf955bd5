import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { PGliteQueryQueue } from './pglite-query-queue';
import { SESSION_SETTINGS } from './session-settings';

export interface DatabaseHandle {
  /** postgres:// URL the pg driver connects to. */
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

/** A PGlite cluster served on a loopback port: what runs in the embedded database's thread. */
export interface ServedPGlite {
  url: string;
  /** Whether the cluster was made from the build's template (else by initdb, or it existed). */
  fromTemplate: boolean;
  close(): Promise<void>;
}

/**
 * The embedded default: PGlite (PostgreSQL compiled to WASM) on `dir`, served on a loopback port by
 * pglite-socket, so the app uses the ordinary `pg` driver and the same SQL as on a real server.
 * `dir` = 'memory://' keeps nothing (tests). In this thread: the server runs it on a thread of its
 * own (src/database/open-database.ts); the tests, which have no built worker file, here.
 */
export async function startEmbeddedPostgres(dir: string, maxConnections = 20): Promise<DatabaseHandle> {
  const release = lockDataDir(dir);
  try {
    const served = await servePGlite(dir, maxConnections);
    return {
      url: served.url,
      embedded: true,
      async close() {
        await served.close();
        release();
      },
    };
  } catch (e) {
    release();
    throw e;
  }
}

/**
 * Opens (or creates) the cluster in `dir` and serves it on 127.0.0.1, a free port. The caller holds
 * the data directory's lock (lockDataDir, which also creates the directory).
 */
export async function servePGlite(dir: string, maxConnections: number): Promise<ServedPGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const template = templateFor(dir);
  const startParams = embeddedStartParams(PGlite.defaultStartParams);
  let db;
  let loaded = false;
  if (template) {
    try {
      if (dir.startsWith('memory://')) {
        db = await PGlite.create(dir, { startParams, loadDataDir: new Blob([fs.readFileSync(template)]) });
      } else {
        // Written by this thread, then opened as an existing cluster: PGlite's own loading of the
        // tarball left ~120 MB of its buffers in the process's RSS after a first start (bench:start).
        await extractTemplate(template, dir);
        db = await PGlite.create(dir, { startParams });
      }
      loaded = true;
    } catch {
      // Not loadable: empty the directory again (but for the lock) and run initdb.
      for (const entry of fs.readdirSync(dir)) {
        if (entry !== LOCK_FILE) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
      }
    }
  }
  db ??= await PGlite.create(dir, { startParams });
  // PGlite is one backend session for every socket connection, and pglite-socket ignores the
  // startup options: SESSION_SETTINGS are set on that session instead.
  await db.exec(
    Object.entries(SESSION_SETTINGS)
      .map(([name, value]) => `SET ${name} = '${value}';`)
      .join(' '),
  );
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  // Each connection's extended-protocol sequence runs whole on the one session (pglite-query-queue.ts);
  // the handlers take the queue when a connection arrives, so it is replaced before start().
  (server as unknown as { queryQueue: PGliteQueryQueue }).queryQueue = new PGliteQueryQueue(db);
  await server.start();
  return {
    url: `postgres://postgres:postgres@${server.getServerConn()}/postgres`,
    fromTemplate: loaded,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * The embedded server's memory settings, on PGlite's command line (`-c`, over the cluster's
 * postgresql.conf). PGlite is one process whose PostgreSQL memory is the WASM heap, and a WASM heap
 * never shrinks: whatever PostgreSQL touches once stays resident in the app's process.
 * - shared_buffers: set up (written) at every start. initdb's 128MB was 151 MB of the WASM heap
 *   resident before the first query; 16MB 29 MB; 8MB 19 MB: with max_connections below, 8-9 MB
 *   less RSS at rest and 5-20 MB less under webhook load than 16MB, the same ingest rate. The
 *   pages it no longer holds are read back from the operating system's file cache.
 * - max_connections: PGlite is one backend whatever the sockets (pglite-socket queues them), but
 *   PostgreSQL sizes its shared memory (PGPROC, lock table) for initdb's 100: 3 MB of it at 100.
 * - maintenance_work_mem (64MB) bounds what an index build or VACUUM may take, and stays taken
 *   once used; work_mem and temp_buffers stay PostgreSQL's (4MB per sort, 8MB of temporary
 *   tables): the WASM heap grew 2-3 MB over 6,000 webhook mails.
 * Measured in docs/performance.md, "Embedded database memory".
 */
export const EMBEDDED_SERVER_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '8MB',
  max_connections: '20',
  maintenance_work_mem: '16MB',
};

/** PGlite's own start parameters (`defaults`) and EMBEDDED_SERVER_SETTINGS as `-c name=value`. */
export function embeddedStartParams(defaults: readonly string[]): string[] {
  return [
    ...defaults,
    ...Object.entries(EMBEDDED_SERVER_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ];
}

const LOCK_FILE = 'maildesk.pid';

/**
 * One process per embedded data directory: PGlite would corrupt it if two opened it. Takes the
 * lock (creating `dir`) and returns its release; nothing to lock for 'memory://'.
 */
export function lockDataDir(dir: string): () => void {
  if (dir.startsWith('memory://')) return () => {};
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  takeLock(file);
  return () => fs.rmSync(file, { force: true });
}

/**
 * A new data directory starts from the build's template of an initialized cluster
 * (dist/pglite-template.tar.gz, made by scripts/pglite-template.mjs): about 1.3 s instead of
 * initdb's 6 s on a 2-core machine; an in-memory one (`memory://`, the tests' and the CLI's) too.
 * Undefined (initdb then) when the directory already holds a cluster, there is no template, or it
 * is of another PGlite version.
 */
function templateFor(dir: string): string | undefined {
  if (!dir.startsWith('memory://') && fs.existsSync(path.join(dir, 'PG_VERSION'))) return undefined;
  return templateFile();
}

/**
 * Writes the template (a gzipped tar of a cluster, as PGlite's `dumpDataDir` makes it: directories
 * and regular files, paths from the cluster's root) into `dir`. Anything else in it is an error:
 * the caller then empties `dir` and runs initdb. Streamed, a zlib chunk (16 KiB) at a time: the
 * whole tar unzipped at once (40 MB) left the database thread's malloc arena at 41 MB (14-20
 * streamed), and the app's RSS at rest after a first start 266-270 MB instead of 256-259
 * (docs/performance.md, "Embedded database memory").
 */
export async function extractTemplate(template: string, dir: string): Promise<void> {
  const root = path.resolve(dir);
  const header = Buffer.alloc(512);
  let filled = 0;
  let fd: number | undefined;
  let left = 0;
  let padding = 0;
  let ended = false;
  const closeFile = () => {
    if (fd !== undefined) fs.closeSync(fd);
    fd = undefined;
  };
  const text = (at: number, length: number) => header.toString('latin1', at, at + length).replace(/\0.*$/s, '');
  const entry = () => {
    const name = text(0, 100);
    if (!name) {
      ended = true;
      return;
    }
    const prefix = header.toString('latin1', 257, 263).startsWith('ustar') ? text(345, 155) : '';
    const size = parseInt(text(124, 12).trim() || '0', 8);
    const mode = parseInt(text(100, 8).trim() || '0', 8) & 0o777;
    const type = text(156, 1) || '0';
    const target = path.resolve(root, `.${path.posix.join('/', prefix, name)}`);
    if (target !== root && !target.startsWith(root + path.sep))
      throw new Error(`template entry ${name} outside the cluster`);
    if (type === '5') fs.mkdirSync(target, { recursive: true, mode });
    else if (type === '0') {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fd = fs.openSync(target, 'w', mode);
      left = size;
      padding = (512 - (size % 512)) % 512;
      if (!left) closeFile();
    } else throw new Error(`template entry ${name} of type ${type}`);
  };
  try {
    await pipeline(fs.createReadStream(template), zlib.createGunzip(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        for (let at = 0; at < chunk.length && !ended;) {
          const n = Math.min(chunk.length - at, left || padding || 512 - filled);
          if (left) {
            fs.writeSync(fd!, chunk, at, n);
            left -= n;
            if (!left) closeFile();
          } else if (padding) padding -= n;
          else {
            chunk.copy(header, filled, at, at + n);
            filled += n;
            if (filled === 512) {
              filled = 0;
              entry();
            }
          }
          at += n;
        }
      }
    });
  } finally {
    closeFile();
  }
  if (!ended) throw new Error('the template ends before its end-of-archive blocks');
  if (!fs.existsSync(path.join(root, 'PG_VERSION'))) throw new Error('the template holds no cluster');
}

/**
 * The version of the installed PGlite (its package.json is not in its exports): what the template
 * is made by and checked against (scripts/pglite-template.mjs calls this from dist/).
 */
export function installedPGliteVersion(): string | undefined {
  // Compiled, this file has `require`; under Jest (src/ as ESM) one is made from the working directory.
  const resolve = typeof require === 'function' ? require : createRequire(path.resolve('package.json'));
  let pkg = path.dirname(resolve.resolve('@electric-sql/pglite'));
  while (!fs.existsSync(path.join(pkg, 'package.json'))) pkg = path.dirname(pkg);
  return (JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { version?: string }).version;
}

/** The build's template, when it is there and was made by the PGlite installed now. */
function templateFile(): string | undefined {
  // Compiled, this file is dist/src/database/embedded-postgres.js; under Jest, which runs src/ as
  // ESM without `__dirname`, the template is the one `npm run build` wrote in dist/ of the working
  // directory (as for the parse worker).
  const dist = typeof __dirname === 'string' ? path.resolve(__dirname, '..', '..') : path.resolve('dist');
  const file = path.join(dist, 'pglite-template.tar.gz');
  try {
    const made = (JSON.parse(fs.readFileSync(path.join(dist, 'pglite-template.json'), 'utf8')) as { pglite?: string })
      .pglite;
    return made && made === installedPGliteVersion() && fs.existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

function takeLock(file: string): void {
  if (fs.existsSync(file)) {
    const pid = Number(fs.readFileSync(file, 'utf8'));
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new Error(`the embedded database in ${path.dirname(file)} is in use by process ${pid}`);
    }
  }
  fs.writeFileSync(file, String(process.pid));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
