import { DataSource } from 'typeorm';

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

/** Reads and moves the `mailbox_cursors` row of one mailbox; each call is its own small statement. */
export class MailboxCursorStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly mailbox: string,
  ) {}

  /** The row, or null before the first connection. */
  async read(): Promise<CursorState | null> {
    const rows: CursorRow[] = await this.dataSource.query(
      'SELECT uid_validity, last_uid, last_success_at, last_error, last_error_at FROM mailbox_cursors WHERE mailbox = $1',
      [this.mailbox],
    );
    return rows.length ? toState(rows[0]) : null;
  }

  /**
   * The cursor for the mailbox's current UIDVALIDITY: created at 0 the first time; reset to 0 when
   * UIDVALIDITY changed (every UID is then new; ingest's dedupe makes the rescan safe).
   * Returns whether it was reset from an earlier, different UIDVALIDITY.
   */
  async open(uidValidity: string): Promise<{ lastUid: number; reset: boolean }> {
    await this.dataSource.query(
      'INSERT INTO mailbox_cursors (mailbox, uid_validity, last_uid) VALUES ($1, $2, 0) ON CONFLICT (mailbox) DO NOTHING',
      [this.mailbox, uidValidity],
    );
    const current = (await this.read())!;
    if (current.uidValidity === uidValidity) return { lastUid: current.lastUid, reset: false };
    await this.dataSource.query(
      'UPDATE mailbox_cursors SET uid_validity = $2, last_uid = 0, updated_at = now() WHERE mailbox = $1',
      [this.mailbox, uidValidity],
    );
    // '0' is the placeholder of a row first written by recordError, before any connection.
    return { lastUid: 0, reset: current.uidValidity !== '0' };
  }

  /** Moves the cursor forward to `uid` (never back), after that message's ingest committed. */
  async advance(uidValidity: string, uid: number): Promise<void> {
    await this.dataSource.query(
      'UPDATE mailbox_cursors SET last_uid = $3, updated_at = now() WHERE mailbox = $1 AND uid_validity = $2 AND last_uid < $3',
      [this.mailbox, uidValidity, uid],
    );
  }

  /** Stamps a completed import round. */
  async recordSuccess(at: Date): Promise<void> {
    await this.dataSource.query(
      'UPDATE mailbox_cursors SET last_success_at = $2, updated_at = now() WHERE mailbox = $1',
      [this.mailbox, at],
    );
  }

  /** Keeps the latest failure (the row is created if the very first connection failed). */
  async recordError(message: string, at: Date): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO mailbox_cursors (mailbox, uid_validity, last_uid, last_error, last_error_at) VALUES ($1, 0, 0, $2, $3)
       ON CONFLICT (mailbox) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = EXCLUDED.last_error_at, updated_at = now()`,
      [this.mailbox, message.slice(0, 2000), at],
    );
  }
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
