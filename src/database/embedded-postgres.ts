import * as fs from 'node:fs';
import * as path from 'node:path';

export interface DatabaseHandle {
  /** postgres:// URL the pg driver connects to. */
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * The embedded default: PGlite (PostgreSQL compiled to WASM) on `dir`, served on a loopback port by
 * pglite-socket, so the app uses the ordinary `pg` driver and the same SQL as on a real server.
 * `dir` = 'memory://' keeps nothing (tests).
 */
export async function startEmbeddedPostgres(dir: string, maxConnections = 20): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  let lockFile: string | undefined;
  if (!dir.startsWith('memory://')) {
    fs.mkdirSync(dir, { recursive: true });
    lockFile = path.join(dir, 'maildesk.pid');
    takeLock(lockFile);
  }
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  await server.start();
  return {
    url: `postgres://postgres:postgres@${server.getServerConn()}/postgres`,
    embedded: true,
    async close() {
      await server.stop();
      await db.close();
      if (lockFile) fs.rmSync(lockFile, { force: true });
    },
  };
}

/** One process per embedded data directory: PGlite would corrupt it if two opened it. */
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
