import type { MessagePort } from 'node:worker_threads';
import type { MailParseErrorCode } from './mail-parse-error';
import type { ParsedMail } from './parsed-mail';

/**
 * What ParsePool hands a parse worker: the raw mail in an ArrayBuffer of its own, transferred: a
 * copy (the thread's to free), or the caller's own bytes with `giveBack`.
 */
export interface ParseTask {
  raw: Uint8Array;
  /**
   * Set when `raw` is the caller's own mail, handed over (ParsePool.parseOwned): the thread copies
   * it, posts `raw` back on this port (transferred) and closes it, and only then writes `started`.
   */
  giveBack?: MessagePort;
  /** One float64 the worker sets to Date.now() when it takes the mail: its deadline runs from then. */
  started: SharedArrayBuffer;
}

/**
 * A raw mail at least this large is followed, in its parse thread, by a full collection of that
 * thread's heap once the answer is posted (parse-worker.ts, collectSoon).
 */
export const COLLECT_AFTER_BYTES = 4 * 1024 * 1024;

/**
 * What a parse worker answers: the parsed mail, or the MailParseError's code and message (an
 * error's own class and fields do not survive the thread boundary).
 */
export type ParseOutcome =
  | { ok: true; mail: ParsedMail; rawSha256: string }
  | { ok: false; code: MailParseErrorCode; message: string; rawSha256: string };

/**
 * A ParsedMail as it arrives from a worker, made whole again: structured cloning keeps strings,
 * arrays, the headers Map and the Date, but turns each Buffer into a plain Uint8Array. The
 * attachments' contents become Buffers again, over the same memory (no copy).
 */
export function reviveParsedMail(mail: ParsedMail): ParsedMail {
  for (const attachment of mail.attachments) {
    const content = attachment.content as Uint8Array;
    if (!Buffer.isBuffer(content)) {
      attachment.content = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    }
  }
  return mail;
}
