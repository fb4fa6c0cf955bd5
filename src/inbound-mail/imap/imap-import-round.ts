import type { ImapFlow } from 'imapflow';
import { IngestResult } from '../ingest-result';
import { MailboxCursorStore } from './mailbox-cursor.store';

/** Messages fetched per FETCH command: bounds memory whatever the mailbox size. */
export const IMPORT_BATCH_SIZE = 200;

/** What one import round needs besides the connected client. */
export interface ImportRoundOptions {
  mailbox: string;
  cursor: MailboxCursorStore;
  ingest: (raw: Buffer) => Promise<IngestResult>;
  /** Folder to move imported mail to, if any. */
  moveTo: string | undefined;
  /** Checked after each message: true ends the round after that message (shutdown). */
  shouldStop: () => boolean;
  /** Messages above the cursor, reported when counted and after each import. */
  onBacklog: (count: number) => void;
  onUidValidityChange: (from: string, to: string) => void;
  batchSize?: number;
}

export interface ImportRoundResult {
  imported: number;
  uidValidity: string;
}

/**
 * One pass over the mailbox: every message with a UID above the cursor, in UID order, is ingested,
 * then the cursor advances to its UID (its own UPDATE, after ingest committed); processed mail is
 * flagged \Seen and optionally moved, per batch. The \Seen flag decides nothing. An ingest error
 * (database unavailable) ends the round with the cursor on the last committed message.
 */
export async function runImportRound(client: ImapFlow, o: ImportRoundOptions): Promise<ImportRoundResult> {
  const batchSize = o.batchSize ?? IMPORT_BATCH_SIZE;
  const lock = await client.getMailboxLock(o.mailbox);
  try {
    // SELECT again each round: a session keeps its view of a selected mailbox that another
    // session deleted and recreated (Dovecot even answers STATUS from that view).
    await client.mailboxOpen(o.mailbox);
    if (!client.mailbox) throw new Error(`mailbox ${o.mailbox} is not open`);
    const uidValidity = String(client.mailbox.uidValidity);
    const before = await o.cursor.read();
    const opened = await o.cursor.open(uidValidity);
    if (opened.reset) o.onUidValidityChange(before?.uidValidity ?? '?', uidValidity);
    let last = opened.lastUid;
    // `N:*` always matches the highest UID, even below N: keep only UIDs above the cursor.
    const found = (await client.search({ uid: `${last + 1}:*` }, { uid: true })) || [];
    const uids = found.filter((uid) => uid > last).sort((a, b) => a - b);
    let backlog = uids.length;
    o.onBacklog(backlog);
    let imported = 0;
    for (let i = 0; i < uids.length && !o.shouldStop(); i += batchSize) {
      const batch = uids.slice(i, i + batchSize);
      const done: number[] = [];
      try {
        // The UIDs between the first and last of the batch are exactly those SEARCH found.
        const range = `${batch[0]}:${batch[batch.length - 1]}`;
        for await (const msg of client.fetch(range, { uid: true, source: true }, { uid: true })) {
          if (msg.uid <= last) continue;
          if (!msg.source) throw new Error(`UID ${msg.uid}: the server returned no message source`);
          await o.ingest(msg.source);
          await o.cursor.advance(uidValidity, msg.uid);
          last = msg.uid;
          done.push(msg.uid);
          imported++;
          o.onBacklog(--backlog);
          if (o.shouldStop()) break;
        }
      } catch (e) {
        // Mark what was imported before the failure; the failure is what the caller must see.
        if (done.length && client.usable) await markProcessed(client, done, o.moveTo).catch(() => undefined);
        throw e;
      }
      if (done.length) await markProcessed(client, done, o.moveTo);
    }
    return { imported, uidValidity };
  } finally {
    lock.release();
  }
}

/** Flags \Seen and, when configured, moves the mail to that folder (created on first use). */
async function markProcessed(client: ImapFlow, uids: number[], moveTo: string | undefined): Promise<void> {
  await client.messageFlagsAdd(uids, ['\\Seen'], { uid: true });
  if (!moveTo) return;
  if (await client.messageMove(uids, moveTo, { uid: true })) return;
  // imapflow answers false on failure; the usual cause is a folder that does not exist yet.
  await client.mailboxCreate(moveTo).catch(() => undefined);
  if (!(await client.messageMove(uids, moveTo, { uid: true })))
    throw new Error(`could not move imported mail to ${moveTo}`);
}
