import { randomInt } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { isEmbeddedDatabase } from '../../database/embedded-database';
import { sessionUrl } from '../../database/pooler';
import { SQL } from './mailbox.repository';

/** The two-int advisory key space of the instances' own locks (`MDK1`); mailboxes use the one-bigint space. */
export const INSTANCE_LOCK_SPACE = 0x4d444b31;

/** Thrown by `confirm` when this instance may no longer lead the mailbox: its poller ends, quietly. */
export class LeadershipLostError extends Error {
  constructor(key: string) {
    super(`no longer the leader of ${key}`);
    this.name = 'LeadershipLostError';
  }
}

/**
 * Leadership of the mailboxes, for one app instance: only the leader of a mailbox imports from it.
 * Keys are the mailboxes' IMAP keys (ImapLocation.key).
 */
export interface Leadership {
  /**
   * How many instances share the mailboxes now, this one included (at least 1). Also the heartbeat
   * of the session that holds the locks: throws when it is lost, and every lock with it (`leads`
   * is then false for every key).
   */
  instances(): Promise<number>;
  /** Takes the mailbox if no instance leads it; false when another one does or this one already does. */
  tryLead(key: string): Promise<boolean>;
  leads(key: string): boolean;
  /** Throws LeadershipLostError when leadership may have been lost (checked before each import round). */
  confirm(key: string): Promise<void>;
  /** Gives the mailbox up; never throws. */
  release(key: string): Promise<void>;
  /** Gives everything up and ends the session; never throws. */
  close(): Promise<void>;
}

/**
 * The leadership that fits the database:
 *
 * - PostgreSQL: session-level advisory locks, every one of this instance's held on ONE connection
 *   of its own (PgLeadership), outside the pool and to DATABASE_DIRECT_URL when set (behind
 *   PgBouncer in transaction mode a pooled connection is a different session at each
 *   transaction: docs/pgbouncer.md): twenty led mailboxes take one connection, not twenty. A crashed
 *   instance's locks go with its session, so another instance takes its mailboxes over at its next
 *   look (about every second).
 * - The embedded database (PGlite): an in-process lock (InProcessLeadership). Exactly one process
 *   can open an embedded data directory (lockDataDir), so leadership across instances is moot
 *   there; and the advisory lock would be harmful: PGlite is ONE backend session for every
 *   connection and src/main.ts gives the app one pooled connection on it (pglite-socket
 *   interleaves the extended-protocol messages of concurrent connections), so a lock "held on a
 *   dedicated connection" took the app's only connection for as long as it led. Every other
 *   query then waited for it until the pool's 15 s connection timeout (issue 16: logins of 15 s,
 *   503s, `/health/ready` "no answer within 3000 ms", the outbox, the SLA monitor and the poller's
 *   own import failing with "timeout exceeded when trying to connect"). The advisory lock could not
 *   even exclude anyone there: the session it is held by is everyone's session.
 */
export async function createLeadership(dataSource: DataSource): Promise<Leadership> {
  return (await isEmbeddedDatabase(dataSource))
    ? new InProcessLeadership(leaderScope(dataSource))
    : new PgLeadership(dataSource);
}

/** The dedicated connection's `application_name` (in pg_stat_activity). */
export const LEADERSHIP_APPLICATION_NAME = 'maildesk leadership';

/**
 * Leadership across app instances on PostgreSQL. One dedicated connection (the session), opened
 * outside the pool on `sessionUrl` (DATABASE_DIRECT_URL, else the pool's URL), holds:
 *
 * - one lock per led mailbox, `pg_try_advisory_lock(hashtext(key))`, the same lock an instance
 *   of an older version takes on its own connection, so the two exclude each other;
 * - one lock of its own in the two-int space (INSTANCE_LOCK_SPACE, a random number): the
 *   instances count each other's in `pg_locks`, and share the mailboxes out by that count.
 *
 * Session-level advisory locks are re-entrant, so `tryLead` never asks again for a key it holds
 * (one unlock always undoes one lock). When the session fails, every lock is gone with it: `held`
 * is emptied, the connection is destroyed, and the next `instances()` opens a new session.
 * Its statements are MailboxRepository's (SQL), run on that connection. Not for the embedded
 * database (see createLeadership).
 */
export class PgLeadership implements Leadership {
  private runner: Client | null = null;
  private opening: Promise<Client> | null = null;
  /** The session's statements run one after the other (pollers confirm while the supervisor looks). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly held = new Set<string>();

  constructor(private readonly dataSource: DataSource) {}

  async instances(): Promise<number> {
    const runner = await this.session();
    const rows: { n: number }[] = await this.run(runner, SQL.countInstances, [INSTANCE_LOCK_SPACE]);
    return Math.max(1, Number(rows[0]?.n ?? 1));
  }

  async tryLead(key: string): Promise<boolean> {
    if (this.held.has(key)) return false;
    const runner = await this.session();
    const rows: { locked: boolean }[] = await this.run(runner, SQL.tryLeaderLock, [key]);
    if (!rows[0]?.locked) return false;
    this.held.add(key);
    return true;
  }

  leads(key: string): boolean {
    return this.held.has(key);
  }

  async confirm(key: string): Promise<void> {
    const runner = this.runner;
    if (!runner || !this.held.has(key)) throw new LeadershipLostError(key);
    try {
      await this.run(runner, SQL.confirmLeaderLock, []);
    } catch {
      throw new LeadershipLostError(key);
    }
  }

  async release(key: string): Promise<void> {
    const runner = this.runner;
    if (!runner || !this.held.delete(key)) return;
    await this.run(runner, SQL.releaseLeaderLock, [key]).catch(() => undefined);
  }

  /** Ending the session unlocks everything at once. */
  async close(): Promise<void> {
    const runner = this.runner;
    this.runner = null;
    this.held.clear();
    if (runner) await discard(runner);
  }

  /** The session, opened with this instance's own lock when there is none. */
  private session(): Promise<Client> {
    if (this.runner) return Promise.resolve(this.runner);
    this.opening ??= this.open().finally(() => (this.opening = null));
    return this.opening;
  }

  private async open(): Promise<Client> {
    const url = sessionUrl(this.dataSource);
    if (!url) throw new Error('no database URL for the leadership session');
    const runner = new Client({
      connectionString: url,
      application_name: LEADERSHIP_APPLICATION_NAME,
      keepAlive: true,
      connectionTimeoutMillis: 15_000,
    });
    // A lost connection: its locks are gone; the next statement fails and ends the session (runNow).
    runner.on('error', () => {
      if (this.runner === runner) {
        this.runner = null;
        this.held.clear();
      }
    });
    try {
      await runner.connect();
      // A random number: another live instance that drew the same one makes this one draw again.
      for (let attempt = 0; ; attempt++) {
        const { rows } = await runner.query<{ locked: boolean }>(SQL.tryInstanceLock, [
          INSTANCE_LOCK_SPACE,
          randomInt(1, 2 ** 31 - 1),
        ]);
        if (rows[0]?.locked) break;
        if (attempt >= 10) throw new Error('could not take an instance lock');
      }
    } catch (e) {
      await discard(runner);
      throw e;
    }
    this.held.clear();
    this.runner = runner;
    return runner;
  }

  /** Runs a statement on the session, after those queued; a failure ends the session (its locks are gone or going). */
  private run<T>(runner: Client, sql: string, params: unknown[]): Promise<T> {
    const next = this.queue.then(() => this.runNow<T>(runner, sql, params));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runNow<T>(runner: Client, sql: string, params: unknown[]): Promise<T> {
    try {
      return (await runner.query(sql, params)).rows as T;
    } catch (e) {
      if (this.runner === runner) {
        this.runner = null;
        this.held.clear();
        await discard(runner);
      }
      throw e;
    }
  }
}

/** Mailboxes led in this process, per database (several apps on one database in one process: the tests). */
const ledInProcess = new Map<string, InProcessLeadership>();

/**
 * Leadership within this process, for the embedded database (see createLeadership): it holds no
 * connection and no session state, so the pollers' imports and the API share the database's one
 * connection. Two app instances in one process on one embedded database (tests) still elect one
 * leader per mailbox; there is one instance to share with as far as the share-out goes.
 */
export class InProcessLeadership implements Leadership {
  private readonly held = new Set<string>();

  constructor(private readonly scope: string) {}

  async instances(): Promise<number> {
    return 1;
  }

  async tryLead(key: string): Promise<boolean> {
    const name = this.name(key);
    if (ledInProcess.has(name)) return false;
    ledInProcess.set(name, this);
    this.held.add(key);
    return true;
  }

  leads(key: string): boolean {
    return this.held.has(key) && ledInProcess.get(this.name(key)) === this;
  }

  async confirm(key: string): Promise<void> {
    if (!this.leads(key)) throw new LeadershipLostError(key);
  }

  async release(key: string): Promise<void> {
    if (this.leads(key)) ledInProcess.delete(this.name(key));
    this.held.delete(key);
  }

  async close(): Promise<void> {
    for (const key of [...this.held]) await this.release(key);
  }

  private name(key: string): string {
    return `${this.scope}\n${key}`;
  }
}

/** Which database a DataSource is on (host, port and database name of its URL). */
function leaderScope(dataSource: DataSource): string {
  const o = dataSource.options as { url?: string; host?: string; port?: number; database?: string };
  if (!o.url) return `${o.host ?? ''}:${o.port ?? ''}/${o.database ?? ''}`;
  const u = new URL(o.url);
  return `${u.host}${u.pathname}`;
}

/** Ends the session's connection (its locks go with it); never throws. */
async function discard(runner: Client): Promise<void> {
  await runner.end().catch(() => undefined);
}
