import { DataSource, QueryRunner } from 'typeorm';

/**
 * Leadership of one mailbox across app instances: a session-level PostgreSQL advisory lock
 * (`pg_try_advisory_lock(hashtext(key))`) held on one dedicated connection for as long as this
 * instance leads. If that connection dies, PostgreSQL releases the lock; `confirm()` notices.
 */
export class MailboxLeaderLock {
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
      const rows: { locked: boolean }[] = await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [
        this.key,
      ]);
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
    await this.runner.query('SELECT 1');
  }

  /** Unlocks and returns the connection; a connection that fails to unlock is destroyed, which unlocks too. */
  async release(): Promise<void> {
    const runner = this.runner;
    this.runner = null;
    if (!runner) return;
    try {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [this.key]);
      await runner.release();
    } catch (e) {
      await discard(runner, e as Error);
    }
  }
}

/** Releases a connection so that the pool closes it instead of reusing it. */
async function discard(runner: QueryRunner, error: Error): Promise<void> {
  const pgRunner = runner as QueryRunner & { releasePostgresConnection?: (err?: Error) => Promise<void> };
  if (typeof pgRunner.releasePostgresConnection === 'function') await pgRunner.releasePostgresConnection(error);
  else await runner.release();
}
