import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort } from './app-process';
import { ADMIN_URL } from './database';

const BIN = '/usr/lib/postgresql/15/bin';

/** A streaming standby of the test server (ADMIN_URL), in a temp dir, on a port of its own. */
export interface Standby {
  port: number;
  /** The URL of `database` (e.g. a test database created on the primary) on the standby. */
  url(database: string): string;
  /** One statement on the standby (its `postgres` database). */
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  /** Stops (fast: connections are terminated) or starts the standby again. */
  stop(): void;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  remove(): void;
}

/** Runs a PostgreSQL program as the postgres user (the tests run as root); throws with its output when it fails. */
function asPostgres(program: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  const [cmd, argv] = root
    ? ['runuser', ['-u', 'postgres', '--', path.join(BIN, program), ...args]]
    : [path.join(BIN, program), args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${program} failed (${r.status}): ${r.stderr || r.stdout || r.error?.message}`);
}

async function primaryQuery<T>(text: string): Promise<T[]> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

/**
 * Creates a real streaming standby of the local PostgreSQL 15 (`pg_basebackup -R -X stream`, a
 * second cluster on a free port, started as the postgres user) for one test file; databases
 * created on the primary afterwards appear on it by replication. Undefined (a warning) when it
 * cannot be created, but under CI=true that fails: .ci/run allows the replication connection it
 * needs (pg_hba.conf). `remove()` it in afterAll.
 */
export async function createStandby(): Promise<Standby | undefined> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-standby-'));
  const data = path.join(base, 'data');
  const port = await freePort();
  try {
    fs.chmodSync(base, 0o700);
    if (process.getuid?.() === 0) spawnSync('chown', ['postgres:postgres', base]);
    const admin = new URL(ADMIN_URL);
    asPostgres('pg_basebackup', [
      '-h',
      admin.hostname,
      '-p',
      admin.port || '5432',
      '-U',
      admin.username || 'postgres',
      '-D',
      data,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
    ]);
    // Debian keeps postgresql.conf and pg_hba.conf in /etc, outside the copied data directory. A hot
    // standby needs at least the primary's values of these settings.
    const settings = await primaryQuery<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN
         ('max_connections', 'max_worker_processes', 'max_wal_senders', 'max_prepared_transactions', 'max_locks_per_transaction')`,
    );
    const conf = [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = '${base}'`,
      `hot_standby = on`,
      `fsync = off`,
      ...settings.map((s) => `${s.name} = ${s.setting}`),
    ];
    fs.writeFileSync(path.join(data, 'postgresql.conf'), conf.join('\n') + '\n');
    fs.writeFileSync(path.join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    fs.writeFileSync(path.join(data, 'pg_ident.conf'), '');
    if (process.getuid?.() === 0) spawnSync('chown', ['-R', 'postgres:postgres', data]);
  } catch (e) {
    fs.rmSync(base, { recursive: true, force: true });
    const message = `no streaming standby could be created: ${(e as Error).message.trim()}`;
    if (process.env.CI === 'true') throw new Error(`CI=true and ${message}`, { cause: e });
    console.warn(`${message}: the read-replica tests are skipped`);
    return undefined;
  }
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const standby: Standby = {
    port,
    url,
    async query<T>(text: string, values: unknown[] = []) {
      const c = new Client({ connectionString: url('postgres') });
      await c.connect();
      try {
        return (await c.query(text, values)).rows as T[];
      } finally {
        await c.end();
      }
    },
    stop() {
      asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    async start() {
      asPostgres('pg_ctl', ['-D', data, '-o', `-p ${port} -k ${base}`, '-l', path.join(base, 'log'), '-w', 'start']);
      // Accepting read-only connections once it reached a consistent state.
      const end = Date.now() + 30_000;
      for (;;) {
        try {
          const [r] = await standby.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
          if (r.standby) return;
          throw new Error('the standby is not in recovery');
        } catch (e) {
          if (Date.now() > end) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    },
    remove() {
      try {
        asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
  try {
    await standby.start();
  } catch (e) {
    standby.remove();
    throw e;
  }
  return standby;
}
