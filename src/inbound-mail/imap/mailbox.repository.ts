import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * The statements of an IMAP mailbox's state (written to mailbox.repository.sql by `npm run sql`):
 * its `mailbox_cursors` row, and the advisory locks of leadership (run by PgLeadership on the one
 * session that holds every lock of this instance): one per led mailbox (`hashtext` of its key, the
 * one-bigint key space, as before issue 18 so that an instance of an older version excludes a newer
 * one during a rolling upgrade), and one per live instance in the two-int key space
 * (INSTANCE_LOCK_SPACE, the instance's number) so that instances count each other in `pg_locks`.
 */
export const SQL = {
  readCursor:
    'SELECT uid_validity, last_uid, last_success_at, last_error, last_error_at FROM mailbox_cursors WHERE mailbox = $1',
  createCursor:
    'INSERT INTO mailbox_cursors (mailbox, uid_validity, last_uid) VALUES ($1, $2, 0) ON CONFLICT (mailbox) DO NOTHING',
  resetCursor: 'UPDATE mailbox_cursors SET uid_validity = $2, last_uid = 0, updated_at = now() WHERE mailbox = $1',
  advanceCursor:
    'UPDATE mailbox_cursors SET last_uid = $3, updated_at = now() WHERE mailbox = $1 AND uid_validity = $2 AND last_uid < $3',
  recordSuccess: 'UPDATE mailbox_cursors SET last_success_at = $2, updated_at = now() WHERE mailbox = $1',
  recordError: `INSERT INTO mailbox_cursors (mailbox, uid_validity, last_uid, last_error, last_error_at) VALUES ($1, 0, 0, $2, $3)
       ON CONFLICT (mailbox) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = EXCLUDED.last_error_at, updated_at = now()`,
  tryLeaderLock: 'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
  confirmLeaderLock: 'SELECT 1',
  releaseLeaderLock: 'SELECT pg_advisory_unlock(hashtext($1))',
  tryInstanceLock: 'SELECT pg_try_advisory_lock($1::int, $2::int) AS locked',
  countInstances: `SELECT count(*)::int AS n FROM pg_locks
       WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = $1::int::oid
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
} as const;

/** The longest error message kept. */
const MAX_ERROR = 2000;

/** The cursor as the poller uses it (bigint columns as numbers: IMAP UIDs are 32-bit). */
export interface CursorState {
  uidValidity: string;
  lastUid: number;
  lastSuccessAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
}

interface CursorRow {
  uid_validity: string;
  last_uid: string;
  last_success_at: Date | null;
  last_error: string | null;
  last_error_at: Date | null;
}

function toState(row: CursorRow): CursorState {
  return {
    uidValidity: String(row.uid_validity),
    lastUid: Number(row.last_uid),
    lastSuccessAt: row.last_success_at,
    lastError: row.last_error,
    lastErrorAt: row.last_error_at,
  };
}

/** What the cursor rules need of storage (MailboxCursorStore; an in-memory fake in unit tests). */
export interface MailboxStore {
  /** The mailbox's cursor, or null before the first connection. */
  readCursor(mailbox: string): Promise<CursorState | null>;
  /** Creates the cursor at UID 0 of `uidValidity` unless the mailbox has one. */
  createCursor(mailbox: string, uidValidity: string): Promise<void>;
  /** Puts the cursor back to UID 0 of a new `uidValidity`. */
  resetCursor(mailbox: string, uidValidity: string): Promise<void>;
  /** Moves the cursor to `uid` when it is below it and still on `uidValidity`. */
  advanceCursor(mailbox: string, uidValidity: string, uid: number): Promise<void>;
  /** Stamps a completed import round. */
  recordSuccess(mailbox: string, at: Date): Promise<void>;
  /** Keeps the latest failure (the row is created if the very first connection failed). */
  recordError(mailbox: string, message: string, at: Date): Promise<void>;
}

/** The `mailbox_cursors` table: one row per IMAP mailbox, each call its own small statement. */
@Injectable()
export class MailboxRepository implements MailboxStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async readCursor(mailbox: string): Promise<CursorState | null> {
    const rows: CursorRow[] = await this.dataSource.query(SQL.readCursor, [mailbox]);
    return rows.length ? toState(rows[0]) : null;
  }

  async createCursor(mailbox: string, uidValidity: string): Promise<void> {
    await this.dataSource.query(SQL.createCursor, [mailbox, uidValidity]);
  }

  async resetCursor(mailbox: string, uidValidity: string): Promise<void> {
    await this.dataSource.query(SQL.resetCursor, [mailbox, uidValidity]);
  }

  async advanceCursor(mailbox: string, uidValidity: string, uid: number): Promise<void> {
    await this.dataSource.query(SQL.advanceCursor, [mailbox, uidValidity, uid]);
  }

  async recordSuccess(mailbox: string, at: Date): Promise<void> {
    await this.dataSource.query(SQL.recordSuccess, [mailbox, at]);
  }

  async recordError(mailbox: string, message: string, at: Date): Promise<void> {
    await this.dataSource.query(SQL.recordError, [mailbox, message.slice(0, MAX_ERROR), at]);
  }
}
