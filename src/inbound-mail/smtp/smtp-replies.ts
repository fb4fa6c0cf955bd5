import { isStorageUnavailable } from '../../database/database-errors';
import type { IngestResult } from '../ingest-result';

/**
 * A refusal the listeners answer with: smtp-server sends `responseCode` and the message (with the
 * enhanced status code of the reply code: 550 -> 5.1.1, 451 -> 4.3.0, RFC 3463).
 */
export class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'SmtpReply';
  }
}

/** The reply codes the listeners decide (smtp-server's own: 452 too many recipients, 500s of syntax). */
export const REPLY = {
  /** Stored (any result). */
  accepted: 250,
  /** Refused connection (too many from the address) or session (too many unknown recipients). */
  closing: 421,
  /** Nothing stored: the sender keeps the mail and retries. */
  tryLater: 451,
  /** Not one of the desk's addresses: never relayed. */
  noSuchMailbox: 550,
  /** Over INBOUND_MAX_BYTES. */
  tooLarge: 552,
} as const;

/** `550 5.1.1 <addr>: no such mailbox here`: a recipient that is no mailbox's address or alias. */
export function noSuchMailbox(address: string): SmtpReply {
  return new SmtpReply(REPLY.noSuchMailbox, `<${address}>: no such mailbox here`);
}

/** `421 4.7.0`: the connection is refused (sent without smtp-server's enhanced code, so it carries its own). */
export function tooManyConnections(): SmtpReply {
  return new SmtpReply(REPLY.closing, '4.7.0 too many connections from your address; try again later');
}

/** `421`: the session is closed after too many unknown recipients (a guessing sender). */
export function tooManyUnknownRecipients(): SmtpReply {
  return new SmtpReply(REPLY.closing, 'too many unknown recipients; closing');
}

/** `552 5.3.4`: the mail is larger than INBOUND_MAX_BYTES. */
export function tooLarge(limit: number): SmtpReply {
  return new SmtpReply(REPLY.tooLarge, `message exceeds fixed maximum message size ${limit}`);
}

/**
 * `451 4.3.0`: nothing was stored. Said for an unreachable database and for any unexpected
 * failure alike: the sending server keeps the mail and retries, so none is lost.
 */
export function tryLater(e: unknown): SmtpReply {
  return new SmtpReply(
    REPLY.tryLater,
    isStorageUnavailable(e)
      ? 'the desk cannot store mail right now (database or blob store unavailable); try again later'
      : 'the desk could not store the mail; try again later',
  );
}

/** The text of a `250` once the mail is committed: what became of it, `(duplicate)` for one stored before. */
export function acceptedText(result: IngestResult): string {
  const id = result.messageId ? `<${result.messageId}> ` : '';
  if (result.status === 'duplicate') return `${id}already stored (duplicate)`;
  const request = result.requestId !== null ? ` request ${result.requestId}` : '';
  return `${id}stored (${result.status}${request})`;
}
