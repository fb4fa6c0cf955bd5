import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { dataSourceOptions } from '../database/data-source-options';
import { runInBackground } from '../database/priority-pool';
import { MetricsService } from '../metrics/metrics.service';
import { ReadPositionsRepository } from './read-positions.repository';

/** How often each standby is checked (in the background, never per request). */
export const REPLICA_CHECK_MS = 1_000;
/** A check that takes longer than this counts the standby as down. */
const CHECK_TIMEOUT_MS = 2_000;
/** A standby's connection attempt gives up after this (then the read retries on the primary). */
const CONNECT_TIMEOUT_MS = 2_000;

/** One standby of DATABASE_REPLICA_URLS and what the latest check saw of it. */
export interface ReplicaState {
  /** host:port/database, without credentials (labels, logs, /health/ready). */
  name: string;
  healthy: boolean;
  /** How far behind the primary it was at the latest check (ms; null: unknown, e.g. down). */
  lagMs: number | null;
  /** The WAL position it had replayed at the latest check (0 when unknown). */
  replayed: bigint;
  /** Why it is skipped, when it is. */
  reason: string | null;
}

interface Replica extends ReplicaState {
  url: string;
  dataSource?: DataSource;
  /** Its pool being set up (a check that timed out must not start a second one). */
  connecting?: Promise<DataSource>;
}

/** The reads of one HTTP call marked @ReadsFromReplica(): the standby chosen for them, if any. */
interface ReadScope {
  replica?: Replica;
}

const scope = new AsyncLocalStorage<ReadScope>();

/** host:port/database of a URL, never its password. */
function nameOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
}

/**
 * Whether `e` says the standby itself failed (connection refused, reset or timed out, shutting
 * down, too many connections, a query cancelled by a recovery conflict), as opposed to the
 * statement: then the read is retried once on the primary.
 */
export function isReplicaFailure(e: unknown): boolean {
  const err = (e as { driverError?: unknown }).driverError ?? e;
  const code = (err as { code?: unknown } | null)?.code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  if (!sqlState) return true; // not PostgreSQL's answer: the network's (ECONNREFUSED, terminated, timeout)
  return /^(08|57P|53)/.test(sqlState) || sqlState === '40001';
}

/**
 * The one routing point between the primary and the read replicas (docs/replicas.md).
 *
 * With DATABASE_REPLICA_URLS set, each standby gets a small pool of its own (a TypeORM DataSource,
 * so the repositories' code runs on it unchanged) and is checked every REPLICA_CHECK_MS in the
 * background: connected, in recovery, and its lag within DATABASE_REPLICA_MAX_LAG_MS. The lag is
 * measured against the primary's own WAL positions sampled at each check (no clock shared with the
 * standby, and an idle primary shows no lag). An HTTP call marked @ReadsFromReplica() is given one
 * standby for all its reads (ReplicaReadInterceptor, `scopeFor`): the least busy healthy one that
 * has replayed the caller's own latest change (replica_read_positions); `read()` then runs the
 * repository's query there, and once more on the primary if the standby failed. Everything else,
 * and every read outside such a call, goes to the primary.
 */
@Injectable()
export class ReadReplicas implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ReadReplicas');
  private readonly replicas: Replica[];
  /** The primary's WAL position at each recent check, oldest first. */
  private samples: Array<{ at: number; lsn: bigint }> = [];
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;
  private turn = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly primary: DataSource,
    private readonly positions: ReadPositionsRepository,
    private readonly metrics: MetricsService,
  ) {
    this.replicas = config.database.replicas.urls.map((url) => ({
      url,
      name: nameOf(url),
      healthy: false,
      lagMs: null,
      replayed: 0n,
      reason: 'not checked yet',
    }));
  }

  /** Whether DATABASE_REPLICA_URLS names any standby. */
  get enabled(): boolean {
    return this.replicas.length > 0;
  }

  /** The standbys as the latest check saw them (/health/ready). */
  states(): ReplicaState[] {
    return this.replicas.map(({ name, healthy, lagMs, replayed, reason }) => ({
      name,
      healthy,
      lagMs,
      replayed,
      reason,
    }));
  }

  async onModuleInit(): Promise<void> {
    if (!this.enabled) return;
    // The first check before serving, so lists use the standbys from the first call; a standby
    // down at start is only logged (the primary serves) and picked up by a later check.
    await this.check();
    this.timer = setInterval(() => void this.check(), REPLICA_CHECK_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
    await Promise.all(
      this.replicas.map(async (r) => {
        const ds = r.dataSource ?? (await r.connecting?.catch(() => undefined));
        await ds?.destroy().catch(() => undefined);
      }),
    );
  }

  /**
   * The standby for the reads of a call by `operatorId` (undefined: an unauthenticated call):
   * a healthy one that has replayed the operator's latest change, the least busy of them (round
   * robin among equals); none when no standby qualifies. One primary-key read on the primary.
   */
  async scopeFor(operatorId: number | undefined): Promise<ReadScope> {
    if (!this.replicas.some((r) => r.healthy)) {
      this.metrics.replicaReads.inc({ target: 'primary' });
      return {};
    }
    const needed = operatorId === undefined ? 0n : await this.positions.positionOf(operatorId);
    const eligible = this.replicas.filter((r) => r.healthy && r.dataSource && r.replayed >= needed);
    if (!eligible.length) {
      this.metrics.replicaReads.inc({ target: 'primary' });
      return {};
    }
    this.turn = (this.turn + 1) % eligible.length;
    let best = eligible[this.turn];
    for (const r of eligible) if (busy(r) < busy(best)) best = r;
    return { replica: best };
  }

  /** Runs `fn` (handlers of a marked call) with `s` as the scope of its reads. */
  runIn<T>(s: ReadScope, fn: () => T): T {
    return scope.run(s, fn);
  }

  /**
   * `steps` with each step run in the read scope of the caller: for a streamed export, whose reads
   * happen as the client takes the answer, after the handler returned (outside its scope).
   */
  scoped<T>(steps: AsyncIterable<T>): AsyncIterable<T> {
    const s = scope.getStore();
    if (!s) return steps;
    return {
      [Symbol.asyncIterator]: () => {
        const it = steps[Symbol.asyncIterator]();
        return {
          next: () => scope.run(s, () => it.next()),
          return: async (value?: unknown) =>
            it.return ? scope.run(s, () => it.return!(value)) : { done: true, value },
        } as AsyncIterator<T>;
      },
    };
  }

  /**
   * Runs a repository's read on the standby chosen for this call (scopeFor), else on the primary.
   * A failure of the standby itself (isReplicaFailure) marks it down until the next check and
   * retries once on the primary, as do the call's later reads: never an error for a standby.
   */
  async read<T>(fn: (dataSource: DataSource) => Promise<T>): Promise<T> {
    const s = scope.getStore();
    const replica = s?.replica;
    if (!s || !replica?.dataSource) return fn(this.primary);
    try {
      const result = await fn(replica.dataSource);
      this.metrics.replicaReads.inc({ target: 'replica' });
      return result;
    } catch (e) {
      if (!isReplicaFailure(e)) throw e;
      s.replica = undefined;
      replica.lagMs = null; // unknown until a check reaches it again
      this.down(replica, `a read failed: ${(e as Error).message}`);
      this.metrics.replicaReads.inc({ target: 'fallback' });
      return fn(this.primary);
    }
  }

  /** Records, after an operator's change committed, the position their later reads need (ReadYourWritesInterceptor). */
  async recordWrite(operatorId: number): Promise<void> {
    if (!this.enabled) return;
    await this.positions.record(operatorId);
  }

  /** One round of checks: the primary's position, then every standby's (in parallel). */
  check(): Promise<void> {
    if (this.checking) return this.checking;
    this.checking = runInBackground(async () => {
      try {
        const now = Date.now();
        try {
          this.samples.push({ at: now, lsn: await this.positions.primaryPosition() });
        } catch (e) {
          this.logger.warn(`the primary's WAL position could not be read: ${(e as Error).message}`);
        }
        // Enough history to tell any lag up to the bound, and a little more.
        const keep = now - this.config.database.replicas.maxLagMs - 5 * REPLICA_CHECK_MS;
        while (this.samples.length > 1 && this.samples[0].at < keep) this.samples.shift();
        await Promise.all(this.replicas.map((r) => this.checkOne(r)));
      } finally {
        this.checking = undefined;
      }
    });
    return this.checking;
  }

  private async checkOne(r: Replica): Promise<void> {
    try {
      const replayed = await withTimeout(this.probe(r), CHECK_TIMEOUT_MS);
      if (replayed === null) return this.down(r, 'not a standby (pg_is_in_recovery() is false)');
      r.replayed = replayed;
      r.lagMs = this.lagOf(replayed);
      const max = this.config.database.replicas.maxLagMs;
      if (r.lagMs > max) return this.down(r, `lags ${r.lagMs} ms, more than DATABASE_REPLICA_MAX_LAG_MS=${max}`);
      if (!r.healthy) this.logger.log(`read replica ${r.name} serves reads (lag ${r.lagMs} ms)`);
      r.healthy = true;
      r.reason = null;
      this.metrics.replicaHealthy.set({ replica: r.name }, 1);
      this.metrics.replicaLag.set({ replica: r.name }, r.lagMs / 1000);
    } catch (e) {
      r.lagMs = null;
      this.down(r, `unreachable: ${(e as Error).message}`);
    }
  }

  /** The standby's replayed position (null: not a standby), connecting its pool first if needed. */
  private async probe(r: Replica): Promise<bigint | null> {
    if (!r.dataSource) {
      r.connecting ??= this.connect(r.url).finally(() => (r.connecting = undefined));
      r.dataSource = await r.connecting;
    }
    return this.positions.replayed(r.dataSource);
  }

  /**
   * A standby's pool: the primary's options, its own size, a short connection timeout, no
   * migrations. Behind DATABASE_POOLER=pgbouncer the standbys' URLs are taken to be through
   * PgBouncer too (no startup options, no named statements: docs/pgbouncer.md).
   */
  private async connect(url: string): Promise<DataSource> {
    const { pooler, preparedStatements } = this.config.database;
    const base = dataSourceOptions(url, this.config.database.replicas.poolSize, { pooler, preparedStatements });
    const extra = { ...(base.extra as object), connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
    const ds = new DataSource({ ...base, migrations: [], extra });
    try {
      return await ds.initialize();
    } catch (e) {
      await ds.destroy().catch(() => undefined);
      throw e;
    }
  }

  /**
   * How long ago the primary was last seen at a position the standby has replayed: 0 when it has
   * replayed the latest sample, else the age of the newest sample it has reached (or, reaching
   * none, at least the age of the oldest kept).
   */
  private lagOf(replayed: bigint): number {
    const now = Date.now();
    for (let i = this.samples.length - 1; i >= 0; i--) {
      if (this.samples[i].lsn <= replayed) return i === this.samples.length - 1 ? 0 : now - this.samples[i + 1].at;
    }
    return this.samples.length ? now - this.samples[0].at : 0;
  }

  private down(r: Replica, reason: string): void {
    if (r.healthy) this.logger.warn(`read replica ${r.name} skipped: ${reason}`);
    r.healthy = false;
    r.reason = reason;
    this.metrics.replicaHealthy.set({ replica: r.name }, 0);
    this.metrics.replicaLag.set({ replica: r.name }, r.lagMs === null ? -1 : r.lagMs / 1000);
  }
}

/** Connections in use and requests waiting on a standby's pool. */
function busy(r: Replica): number {
  const pool = (r.dataSource?.driver as unknown as { master?: Pool & { queued?: { api: number; background: number } } })
    ?.master;
  if (!pool) return Number.MAX_SAFE_INTEGER;
  return pool.totalCount - pool.idleCount + (pool.queued ? pool.queued.api + pool.queued.background : 0);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
