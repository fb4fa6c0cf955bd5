import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

/** Debian's PgBouncer (1.18: no protocol-level prepared statements in transaction mode). */
const BINARIES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

function pgbouncerBinary(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return [...dirs.map((d) => path.join(d, 'pgbouncer')), ...BINARIES].find((f) => fs.existsSync(f));
}

/** Whether PgBouncer is installed; under CI=true a missing PgBouncer fails instead of skipping. */
export function pgbouncerAvailable(): boolean {
  if (pgbouncerBinary()) return true;
  const message = 'PgBouncer is not installed (apt-get install -y pgbouncer): the PgBouncer tests are skipped';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message.split(':')[0]}`);
  console.warn(message);
  return false;
}

export interface PgBouncerOptions {
  /** Server connections per database/user pair (small, so that clients really share them). */
  poolSize?: number;
  /** Extra lines of the [pgbouncer] section (e.g. `ignore_startup_parameters = options`). */
  extra?: string[];
}

export interface TestPgBouncer {
  port: number;
  /** `directUrl` (a database on 127.0.0.1:5432) through this PgBouncer: same user and database, its port. */
  urlFor(directUrl: string): string;
  /** The ini it runs with. */
  ini: string;
  /** What it logged so far. */
  log(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A private PgBouncer in transaction mode, from a temp dir of its own (its ini and userlist),
 * listening on a free 127.0.0.1 port and forwarding every database name (`*`) to the same database
 * on 127.0.0.1:5432. Its pool is small (`poolSize`, 2 by default), so that clients really share
 * server connections: a statement's session is not the next one's. Otherwise as Debian ships it:
 * no `ignore_startup_parameters`, no `max_prepared_statements` (1.18 has none). PgBouncer refuses
 * to run as root: as root it is started with `-u postgres`. Stopped with SIGINT (it closes its
 * connections and exits), SIGKILL after 5 s.
 */
export async function startPgBouncer(o: PgBouncerOptions = {}): Promise<TestPgBouncer> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error('pgbouncer is not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-pgbouncer-'));
  const port = await freePort();
  const ini = [
    '[databases]',
    '* = host=127.0.0.1 port=5432',
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${dir}/userlist.txt`,
    'pool_mode = transaction',
    `default_pool_size = ${o.poolSize ?? 2}`,
    'max_client_conn = 500',
    'admin_users = postgres',
    ...(o.extra ?? []),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'pgbouncer.ini'), ini);
  fs.writeFileSync(path.join(dir, 'userlist.txt'), '"postgres" ""\n');
  const root = process.getuid?.() === 0;
  // Its files are read by the postgres user it switches to.
  if (root) fs.chmodSync(dir, 0o755);
  const args = [...(root ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')];
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // Ready when it accepts a client and forwards it to the server.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`pgbouncer exited (${child.exitCode}): ${output}`);
    }
    const c = new Client({
      connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
      connectionTimeoutMillis: 1000,
    });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      break;
    } catch (e) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`pgbouncer did not answer on port ${port}: ${(e as Error).message}\n${output}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    ini,
    urlFor(directUrl) {
      const u = new URL(directUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    log: () => output,
    stop,
  };
}
