import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** What an operator announces on a request: reading it, or writing an answer to it. */
export type PresenceState = 'viewing' | 'replying';

/** The states, for validation and Swagger. */
export const PRESENCE_STATES: readonly PresenceState[] = ['viewing', 'replying'];

/** One operator's live presence on a request. */
export interface Presence {
  operatorId: number;
  operatorName: string;
  state: PresenceState;
  /** When the operator entered this state (kept while it is renewed). */
  since: Date;
  expiresAt: Date;
}

/**
 * The statements of request_presence (written to presence.repository.sql by `npm run sql`).
 * Times come from the database's clock (clock_timestamp()), so instances with skewed clocks agree.
 */
export const SQL = {
  /**
   * Operator $2 is in state $3 on request $1 for $4 seconds from now: inserts the row or renews
   * it. `since` stays when the same state is renewed before it expired, else starts now.
   */
  upsert: `INSERT INTO request_presence (request_id, operator_id, state, since, expires_at, updated_at)
       VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp() + make_interval(secs => $4::integer), clock_timestamp())
    ON CONFLICT (request_id, operator_id) DO UPDATE
       SET state = EXCLUDED.state, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at,
           since = CASE WHEN request_presence.state = EXCLUDED.state AND request_presence.expires_at > clock_timestamp()
                        THEN request_presence.since ELSE EXCLUDED.since END`,
  /** Operator $2 leaves request $1. */
  remove: `DELETE FROM request_presence WHERE request_id = $1 AND operator_id = $2`,
  /** The live (unexpired) presence on request $1 with the operators' names, the earliest first. */
  listLive: `SELECT p.operator_id, o.name AS operator_name, p.state, p.since, p.expires_at
      FROM request_presence p JOIN operators o ON o.id = p.operator_id
     WHERE p.request_id = $1 AND p.expires_at > clock_timestamp()
     ORDER BY p.since, p.operator_id`,
  /** Deletes up to $1 expired rows (any request): the opportunistic cleanup of a write, bounded. */
  purgeExpired: `DELETE FROM request_presence WHERE (request_id, operator_id) IN (
       SELECT request_id, operator_id FROM request_presence WHERE expires_at <= clock_timestamp()
        ORDER BY expires_at LIMIT $1)`,
} as const;

/** What the presence rules need of storage (PresenceRepository; an in-memory fake in unit tests). */
export interface PresenceStore {
  /** Announces or renews operator `operatorId` in `state` on the request for `ttlSeconds`. */
  upsert(requestId: number, operatorId: number, state: PresenceState, ttlSeconds: number): Promise<void>;
  /** The operator leaves the request (nothing when they were not on it). */
  remove(requestId: number, operatorId: number): Promise<void>;
  /** The unexpired presence on the request, the earliest first. */
  listLive(requestId: number): Promise<Presence[]>;
  /** Deletes up to `limit` expired rows. */
  purgeExpired(limit: number): Promise<void>;
}

interface PresenceRow {
  operator_id: number;
  operator_name: string;
  state: PresenceState;
  since: Date;
  expires_at: Date;
}

/** Presence in PostgreSQL (the unlogged table request_presence), shared by every instance. */
@Injectable()
export class PresenceRepository implements PresenceStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async upsert(requestId: number, operatorId: number, state: PresenceState, ttlSeconds: number): Promise<void> {
    await this.dataSource.query(SQL.upsert, [requestId, operatorId, state, ttlSeconds]);
  }

  async remove(requestId: number, operatorId: number): Promise<void> {
    await this.dataSource.query(SQL.remove, [requestId, operatorId]);
  }

  async listLive(requestId: number): Promise<Presence[]> {
    const rows: PresenceRow[] = await this.dataSource.query(SQL.listLive, [requestId]);
    return rows.map((r) => ({
      operatorId: r.operator_id,
      operatorName: r.operator_name,
      state: r.state,
      since: new Date(r.since),
      expiresAt: new Date(r.expires_at),
    }));
  }

  async purgeExpired(limit: number): Promise<void> {
    await this.dataSource.query(SQL.purgeExpired, [limit]);
  }
}
