import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../setup/app-process';

/** A private PostgreSQL cluster in a temp dir, which a test may stop and start at will. */
export interface PgCluster {
  port: number;
  /** URL of database `name` on this cluster. */
  url(name?: string): string;
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m fast`: every connection is terminated. */
  stop(): void;
  start(): void;
  /** Stops the cluster and removes its directory. */
  destroy(): void;
}

/** Directory of initdb/pg_ctl: PG_BIN, else the newest /usr/lib/postgresql/<version>/bin. */
function pgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length)
    throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)');
  return path.join(root, versions[0], 'bin');
}

/**
 * initdb + pg_ctl start of a throwaway cluster on a free port (never the machine's shared server,
 * which other test files use at the same time). As root the cluster runs as the postgres user.
 */
export async function startPgCluster(): Promise<PgCluster> {
  const bin = pgBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-pg-'));
  const root = process.getuid?.() === 0;
  if (root) {
    fs.chmodSync(dir, 0o755);
    execFileSync('chown', ['postgres:postgres', dir]);
  }
  const data = path.join(dir, 'data');
  const run = (args: string[]) => {
    const cmd = [path.join(bin, args[0]), ...args.slice(1)].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    if (root) execFileSync('su', ['postgres', '-c', cmd], { stdio: 'pipe' });
    else execFileSync('sh', ['-c', cmd], { stdio: 'pipe' });
  };
  run(['initdb', '-D', data, '-A', 'trust', '-U', 'postgres']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off`;
  const start = () => run(['pg_ctl', '-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', 'start']);
  start();
  const url = (name = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${name}`;
  return {
    port,
    url,
    async createDatabase(name) {
      const c = new Client({ connectionString: url() });
      await c.connect();
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      return url(name);
    },
    stop() {
      run(['pg_ctl', '-D', data, '-m', 'fast', '-w', 'stop']);
    },
    start,
    destroy() {
      try {
        run(['pg_ctl', '-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
