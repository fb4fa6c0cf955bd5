import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { isEmbeddedDatabase } from '../../database/embedded-database';
import type { MailboxRecord } from '../mailbox';
import { fromRow } from '../mailboxes.repository';

/**
 * The OAuth2 statements of the mailboxes module: the pending authorizations
 * (`oauth2_authorizations`: a state's hash -> mailbox, admin, sealed PKCE verifier; one use, a
 * few minutes), the lock that serializes refreshes of one mailbox across instances, and the
 * token and state changes OAuth2 makes to a `mailboxes` row (storing refreshed tokens without a
 * version bump is MailboxesRepository.storeOauth2Tokens).
 */
export const SQL = {
  insertAuthorization: `INSERT INTO oauth2_authorizations
      (state_hash, mailbox_id, operator_id, verifier_secret, redirect_uri, expires_at)
    VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
  deleteExpiredAuthorizations: `DELETE FROM oauth2_authorizations WHERE expires_at < now()`,
  takeAuthorization: `DELETE FROM oauth2_authorizations WHERE state_hash = $1
    RETURNING mailbox_id, operator_id, verifier_secret, redirect_uri, expires_at > now() AS fresh`,
  refreshLock: `SELECT pg_advisory_xact_lock(hashtext('maildesk:oauth2-refresh:' || $1::text))`,
  dropAccessToken: `UPDATE mailboxes SET oauth2_access_secret = NULL, oauth2_access_expires_at = NULL
    WHERE id = $1 AND oauth2_access_secret = $2`,
  markNeedsReauthorization: `UPDATE mailboxes SET state = 'needs_reauthorization', last_error = $2,
      last_error_at = now(), version = version + 1, updated_at = now()
    WHERE id = $1 AND state IN ('active', 'error') RETURNING *`,
  authorized: `UPDATE mailboxes SET oauth2_refresh_secret = $2, oauth2_access_secret = $3,
      oauth2_access_expires_at = $4,
      state = CASE WHEN state = 'disabled' THEN state ELSE 'active' END,
      last_error = NULL, last_error_at = NULL, version = version + 1, updated_at = now()
    WHERE id = $1 RETURNING *`,
} as const;

/** A pending authorization as stored (the verifier still sealed). */
export interface PendingAuthorization {
  stateHash: string;
  mailboxId: number;
  operatorId: number;
  verifierSecret: string;
  redirectUri: string;
}

/** A taken authorization: what it was for, and whether it was still within its time. */
export interface TakenAuthorization extends Omit<PendingAuthorization, 'stateHash'> {
  fresh: boolean;
}

/** What the OAuth2 rules need of storage (an in-memory fake in unit tests). */
export interface Oauth2Store {
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  /** Stores a pending authorization valid for `ttlSeconds`; drops the expired ones first. */
  insertAuthorization(a: PendingAuthorization, ttlSeconds: number): Promise<void>;
  /** Removes and returns the authorization of a state's hash (one use), fresh or not; null when unknown. */
  takeAuthorization(stateHash: string): Promise<TakenAuthorization | null>;
  /**
   * Runs `work` while holding the refresh lock of a mailbox across instances: a transaction-scoped
   * advisory lock on PostgreSQL; nothing more on the embedded database, where one process is the
   * only instance (the caller's in-process lock suffices) and a transaction held across a network
   * call would stall every other query.
   */
  withRefreshLock<T>(mailboxId: number, work: () => Promise<T>): Promise<T>;
  /** Forgets the stored access token, only if it is still `sealed` (another instance may have refreshed). */
  dropAccessToken(mailboxId: number, sealed: string): Promise<void>;
  /** Moves an active (or erring) mailbox to needs_reauthorization with the reason; null when it did not move. */
  markNeedsReauthorization(manager: EntityManager, mailboxId: number, reason: string): Promise<MailboxRecord | null>;
  /** Stores the tokens of a completed authorization and makes the mailbox active again (unless disabled). */
  authorized(
    manager: EntityManager,
    mailboxId: number,
    tokens: { refreshSecret: string; accessSecret: string; accessExpiresAt: Date },
  ): Promise<MailboxRecord | null>;
}

/** See SQL. */
@Injectable()
export class Oauth2Repository implements Oauth2Store {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async insertAuthorization(a: PendingAuthorization, ttlSeconds: number): Promise<void> {
    await this.dataSource.query(SQL.deleteExpiredAuthorizations);
    await this.dataSource.query(SQL.insertAuthorization, [
      a.stateHash,
      a.mailboxId,
      a.operatorId,
      a.verifierSecret,
      a.redirectUri,
      ttlSeconds,
    ]);
  }

  async takeAuthorization(stateHash: string): Promise<TakenAuthorization | null> {
    const result: unknown = await this.dataSource.query(SQL.takeAuthorization, [stateHash]);
    const r = returnedRows(result)[0];
    if (!r) return null;
    return {
      mailboxId: Number(r.mailbox_id),
      operatorId: Number(r.operator_id),
      verifierSecret: r.verifier_secret as string,
      redirectUri: r.redirect_uri as string,
      fresh: r.fresh === true,
    };
  }

  async withRefreshLock<T>(mailboxId: number, work: () => Promise<T>): Promise<T> {
    if (await isEmbeddedDatabase(this.dataSource)) return work();
    return this.dataSource.transaction(async (m) => {
      await m.query(SQL.refreshLock, [mailboxId]);
      return work();
    });
  }

  async dropAccessToken(mailboxId: number, sealed: string): Promise<void> {
    await this.dataSource.query(SQL.dropAccessToken, [mailboxId, sealed]);
  }

  async markNeedsReauthorization(
    manager: EntityManager,
    mailboxId: number,
    reason: string,
  ): Promise<MailboxRecord | null> {
    const rows = returnedRows(await manager.query(SQL.markNeedsReauthorization, [mailboxId, reason.slice(0, 2000)]));
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async authorized(
    manager: EntityManager,
    mailboxId: number,
    tokens: { refreshSecret: string; accessSecret: string; accessExpiresAt: Date },
  ): Promise<MailboxRecord | null> {
    const rows = returnedRows(
      await manager.query(SQL.authorized, [
        mailboxId,
        tokens.refreshSecret,
        tokens.accessSecret,
        tokens.accessExpiresAt,
      ]),
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }
}

/** The rows of a DELETE/UPDATE ... RETURNING (TypeORM's postgres driver answers [rows, count] for those). */
function returnedRows(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as Record<string, unknown>[];
  }
  return (Array.isArray(result) ? result : []) as Record<string, unknown>[];
}
