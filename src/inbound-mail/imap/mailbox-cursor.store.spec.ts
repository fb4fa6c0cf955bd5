import { MailboxCursorStore } from './mailbox-cursor.store';
import type { CursorState, MailboxStore } from './mailbox.repository';

/** The mailbox_cursors table in memory, with the conditions of the repository's statements. */
class MemoryMailboxes implements MailboxStore {
  readonly rows = new Map<string, CursorState>();

  readCursor(mailbox: string): Promise<CursorState | null> {
    const row = this.rows.get(mailbox);
    return Promise.resolve(row ? { ...row } : null);
  }
  createCursor(mailbox: string, uidValidity: string): Promise<void> {
    if (!this.rows.has(mailbox))
      this.rows.set(mailbox, { uidValidity, lastUid: 0, lastSuccessAt: null, lastError: null, lastErrorAt: null });
    return Promise.resolve();
  }
  resetCursor(mailbox: string, uidValidity: string): Promise<void> {
    Object.assign(this.rows.get(mailbox)!, { uidValidity, lastUid: 0 });
    return Promise.resolve();
  }
  advanceCursor(mailbox: string, uidValidity: string, uid: number): Promise<void> {
    const row = this.rows.get(mailbox);
    if (row && row.uidValidity === uidValidity && row.lastUid < uid) row.lastUid = uid;
    return Promise.resolve();
  }
  recordSuccess(mailbox: string, at: Date): Promise<void> {
    this.rows.get(mailbox)!.lastSuccessAt = at;
    return Promise.resolve();
  }
  recordError(mailbox: string, message: string, at: Date): Promise<void> {
    const row = this.rows.get(mailbox) ?? { uidValidity: '0', lastUid: 0, lastSuccessAt: null };
    this.rows.set(mailbox, { ...row, lastError: message, lastErrorAt: at });
    return Promise.resolve();
  }
}

describe('MailboxCursorStore', () => {
  const MAILBOX = 'imap://desk@mail.test/INBOX';
  let mailboxes: MemoryMailboxes;
  let cursor: MailboxCursorStore;
  beforeEach(() => {
    mailboxes = new MemoryMailboxes();
    cursor = new MailboxCursorStore(mailboxes, MAILBOX);
  });

  it('starts a new mailbox at UID 0 and moves only forward on its UIDVALIDITY', async () => {
    await expect(cursor.open('7')).resolves.toEqual({ lastUid: 0, reset: false });
    await cursor.advance('7', 12);
    await cursor.advance('7', 5);
    await cursor.advance('8', 40);
    await expect(cursor.open('7')).resolves.toEqual({ lastUid: 12, reset: false });
  });

  it('rescans from UID 0 when UIDVALIDITY changed, and says so', async () => {
    await cursor.open('7');
    await cursor.advance('7', 12);
    await expect(cursor.open('9')).resolves.toEqual({ lastUid: 0, reset: true });
    await expect(cursor.read()).resolves.toMatchObject({ uidValidity: '9', lastUid: 0 });
  });

  it('does not call the placeholder row of a first failed connection a UIDVALIDITY change', async () => {
    await cursor.recordError('connection refused', new Date());
    await expect(cursor.open('7')).resolves.toEqual({ lastUid: 0, reset: false });
    await expect(cursor.read()).resolves.toMatchObject({ uidValidity: '7', lastError: 'connection refused' });
  });
});
