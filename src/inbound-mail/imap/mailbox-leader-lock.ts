import { DataSource, QueryRunner } from 'typeorm';
import { isEmbeddedDatabase } from '../../database/embedded-database';
import { SQL } from './mailbox.repository';

/** Leadership of one mailbox: only the holder imports from it. */
export interface LeaderLock {
  readonly held: boolean;
  /** Takes the lock if nobody holds it; false when another instance leads. */
  tryAcquire(): Promise<boolean>;
  /** Throws when leadership may have been lost (checked before each import round). */
  confirm(): Promise<void>;
  /** Gives leadership up; never throws. */
  release(): Promise<void>;
}

/**
 * The leader lock that fits the database:
 *
 * - PostgreSQL: a session-level advisory lock on a connection of its own (MailboxLeaderLock), so
 *   that instances on several machines elect one leader and a crashed leader's lock goes with its
 *   session.
 * - The embedded database (PGlite): an in-process lock (InProcessLeaderLock). Exactly one process
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
export async function createLeaderLock(dataSource: DataSource, key: string): Promise<LeaderLock> {
  return (await isEmbeddedDatabase(dataSource))
    ? new InProcessLeaderLock(leaderScope(dataSource), key)
    : new MailboxLeaderLock(dataSource, key);
}

/**
 * Leadership of one mailbox across app instances: a session-level PostgreSQL advisory lock
 * (`pg_try_advisory_lock(hashtext(key))`) held on one dedicated connection for as long as this
 * instance leads. If that connection dies, PostgreSQL releases the lock; `confirm()` notices.
 * Its statements are MailboxRepository's (SQL), run on that connection. Not for the embedded
 * database (see createLeaderLock).
 */
export class MailboxLeaderLock implements LeaderLock {
  private runner: QueryRunner | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly key: string,
  ) {}

  get held(): boolean {
    return this.runner !== null;
  }

  /** Takes the lock if nobody holds it; false when another session leads. */
  async tryAcquire(): Promise<boolean> {
    if (this.runner) return true;
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      const rows: { locked: boolean }[] = await runner.query(SQL.tryLeaderLock, [this.key]);
      if (rows[0]?.locked) {
        this.runner = runner;
        return true;
      }
    } catch (e) {
      await discard(runner, e as Error);
      throw e;
    }
    await runner.release();
    return false;
  }

  /** Throws when the lock's connection is gone (leadership may have passed to another instance). */
  async confirm(): Promise<void> {
    if (!this.runner) throw new Error('not the leader of this mailbox');
    await this.runner.query(SQL.confirmLeaderLock);
  }

  /** Unlocks and returns the connection; a connection that fails to unlock is destroyed, which unlocks too. */
  async release(): Promise<void> {
    const runner = this.runner;
    this.runner = null;
    if (!runner) return;
    try {
      await runner.query(SQL.releaseLeaderLock, [this.key]);
      await runner.release();
    } catch (e) {
      await discard(runner, e as Error);
    }
  }
}

/** Mailboxes led in this process, per database (several apps on one database in one process: the tests). */
const ledInProcess = new Map<string, InProcessLeaderLock>();

/**
 * Leadership of one mailbox within this process, for the embedded database (see createLeaderLock):
 * it holds no connection and no session state, so the poller's import and the API share the
 * database's one connection. Two app instances in one process on one embedded database (tests)
 * still elect one leader.
 */
export class InProcessLeaderLock implements LeaderLock {
  private readonly name: string;

  constructor(scope: string, key: string) {
    this.name = `${scope}\n${key}`;
  }

  get held(): boolean {
    return ledInProcess.get(this.name) === this;
  }

  async tryAcquire(): Promise<boolean> {
    const holder = ledInProcess.get(this.name);
    if (holder && holder !== this) return false;
    ledInProcess.set(this.name, this);
    return true;
  }

  async confirm(): Promise<void> {
    if (!this.held) throw new Error('not the leader of this mailbox');
  }

  async release(): Promise<void> {
    if (this.held) ledInProcess.delete(this.name);
  }
}

/** Which database a DataSource is on (host, port and database name of its URL). */
function leaderScope(dataSource: DataSource): string {
  const o = dataSource.options as { url?: string; host?: string; port?: number; database?: string };
  if (!o.url) return `${o.host ?? ''}:${o.port ?? ''}/${o.database ?? ''}`;
  const u = new URL(o.url);
  return `${u.host}${u.pathname}`;
}

/** Releases a connection so that the pool closes it instead of reusing it. */
async function discard(runner: QueryRunner, error: Error): Promise<void> {
  const pgRunner = runner as QueryRunner & { releasePostgresConnection?: (err?: Error) => Promise<void> };
  if (typeof pgRunner.releasePostgresConnection === 'function') await pgRunner.releasePostgresConnection(error);
  else await runner.release();
}
