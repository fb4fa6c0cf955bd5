import type { ImapFlow } from 'imapflow';
import { IngestResult } from '../ingest-result';
import { senderKey } from '../parser/sender-key';
import { MailboxCursorStore } from './mailbox-cursor.store';

/** Messages fetched per FETCH command: bounds memory whatever the mailbox size. */
export const IMPORT_BATCH_SIZE = 200;

/** Messages ingested at the same time within a batch (the webhook does the same for concurrent calls). */
export const IMPORT_CONCURRENCY = 8;

/**
 * The same on the embedded database: its one connection runs one ingest transaction at a time
 * anyway, so more at once only queue there, and parse on the event loop the API shares while a
 * transaction that holds that connection waits for its next turn on it. Two keep the connection
 * busy (one parses while the other writes).
 */
export const EMBEDDED_IMPORT_CONCURRENCY = 2;

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
  /** Messages ingested at once (IMPORT_CONCURRENCY by default). */
  concurrency?: number;
  /**
   * The round's first message goes alone (true by default): after a failure (an outage) the round
   * finds out whether the database is back before several messages are fetched and attempted.
   */
  probeFirst?: boolean;
}

export interface ImportRoundResult {
  imported: number;
  uidValidity: string;
}

/**
 * One pass over the mailbox: every message with a UID above the cursor is ingested (several at once,
 * each sender's in UID order), and the cursor advances over the contiguous prefix of committed
 * UIDs (its own UPDATE, after those ingests committed); processed mail is
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
    let written = last;
    let cursorWrites: Promise<void> = Promise.resolve();
    for (let i = 0; i < uids.length && !o.shouldStop(); i += batchSize) {
      const batch = uids.slice(i, i + batchSize);
      const done: number[] = [];
      // Ingested concurrently (o.concurrency at once; one sender's mail in UID order); the cursor
      // only moves over the contiguous prefix of committed UIDs, so a failure or a crash leaves it
      // on a message before which everything is stored (the rest is deduplicated later).
      const dispatched: number[] = [];
      const committed = new Set<number>();
      const inFlight = new Set<Promise<void>>();
      const bySender = new Map<string, Promise<void>>();
      let prefix = 0;
      let failure: { error: unknown } | undefined;
      let ingestFailed = false;
      const advance = () => {
        while (prefix < dispatched.length && committed.has(dispatched[prefix])) prefix++;
        if (prefix > 0 && dispatched[prefix - 1] > last) last = dispatched[prefix - 1];
        // Chained writes coalesce: each writes the prefix as it is when its turn comes.
        cursorWrites = cursorWrites.then(async () => {
          if (last <= written) return;
          const to = last;
          await o.cursor.advance(uidValidity, to);
          written = to;
        });
        cursorWrites.catch((e) => (failure ??= { error: e }));
      };
      try {
        // The UIDs between the first and last of the batch are exactly those SEARCH found.
        const range = `${batch[0]}:${batch[batch.length - 1]}`;
        for await (const msg of client.fetch(range, { uid: true, source: true }, { uid: true })) {
          if (msg.uid <= last || committed.has(msg.uid)) continue;
          if (!msg.source) throw new Error(`UID ${msg.uid}: the server returned no message source`);
          const { uid, source } = msg;
          dispatched.push(uid);
          const key = senderKey(source);
          // A dispatched message is attempted even after a fetch failure (no gap of skipped
          // messages before committed ones); after an ingest failure (database down) it is not.
          const task = (bySender.get(key) ?? Promise.resolve()).then(async () => {
            if (ingestFailed) return;
            try {
              await o.ingest(source);
            } catch (e) {
              ingestFailed = true;
              failure ??= { error: e };
              return;
            }
            committed.add(uid);
            done.push(uid);
            imported++;
            o.onBacklog(--backlog);
            advance();
          });
          bySender.set(key, task);
          inFlight.add(task);
          void task.finally(() => inFlight.delete(task));
          // After a failure the round's first message goes alone (probeFirst): it finds out
          // whether the database is back before several messages are fetched and attempted.
          const limit = imported > 0 || o.probeFirst === false ? (o.concurrency ?? IMPORT_CONCURRENCY) : 1;
          while (inFlight.size >= limit) await Promise.race(inFlight);
          if (failure || o.shouldStop()) break;
        }
      } catch (e) {
        failure ??= { error: e };
      }
      await Promise.all(inFlight);
      await cursorWrites.catch(() => undefined);
      if (failure) {
        // Mark what was imported before the failure; the failure is what the caller must see.
        if (done.length && client.usable) await markProcessed(client, done, o.moveTo).catch(() => undefined);
        throw failure.error;
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
