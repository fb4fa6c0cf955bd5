import type { CursorState, MailboxStore } from './mailbox.repository';

export type { CursorState } from './mailbox.repository';

/**
 * The cursor of one mailbox, as the import round moves it: the UIDVALIDITY + last-UID rules over
 * its `mailbox_cursors` row (MailboxRepository; each call is its own small statement).
 */
export class MailboxCursorStore {
  constructor(
    private readonly store: MailboxStore,
    private readonly mailbox: string,
  ) {}

  /** The row, or null before the first connection. */
  read(): Promise<CursorState | null> {
    return this.store.readCursor(this.mailbox);
  }

  /**
   * The cursor for the mailbox's current UIDVALIDITY: created at 0 the first time; reset to 0 when
   * UIDVALIDITY changed (every UID is then new; ingest's dedupe makes the rescan safe).
   * Returns whether it was reset from an earlier, different UIDVALIDITY.
   */
  async open(uidValidity: string): Promise<{ lastUid: number; reset: boolean }> {
    await this.store.createCursor(this.mailbox, uidValidity);
    const current = (await this.read())!;
    if (current.uidValidity === uidValidity) return { lastUid: current.lastUid, reset: false };
    await this.store.resetCursor(this.mailbox, uidValidity);
    // '0' is the placeholder of a row first written by recordError, before any connection.
    return { lastUid: 0, reset: current.uidValidity !== '0' };
  }

  /** Moves the cursor forward to `uid` (never back), after that message's ingest committed. */
  advance(uidValidity: string, uid: number): Promise<void> {
    return this.store.advanceCursor(this.mailbox, uidValidity, uid);
  }

  /** Stamps a completed import round. */
  recordSuccess(at: Date): Promise<void> {
    return this.store.recordSuccess(this.mailbox, at);
  }

  /** Keeps the latest failure (the row is created if the very first connection failed). */
  recordError(message: string, at: Date): Promise<void> {
    return this.store.recordError(this.mailbox, message, at);
  }
}
