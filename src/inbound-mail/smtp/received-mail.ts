import type { Readable } from 'node:stream';
import type { ByteBudget } from '../../common/byte-budget';

/** What a listener first holds for a mail whose sender declared no SIZE (it grows as bytes come). */
export const INITIAL_RESERVATION = 64 * 1024;

/** The bytes of one mail held against the listeners' budget; `release` once the mail is stored or refused. */
export interface Reservation {
  readonly bytes: number;
  release(): void;
}

/** What the DATA stream came to. */
export type Received =
  | { kind: 'mail'; raw: Buffer; reservation: Reservation }
  /** Past the limit: the rest of the stream was read and dropped, never kept. */
  | { kind: 'too-large' }
  /** The connection went away before the final dot. */
  | { kind: 'aborted'; error: Error };

/** A stream smtp-server hands to onData: it says when the limit was passed. */
export type DataStream = Readable & { sizeExceeded?: boolean };

/**
 * Reads one mail's DATA into a Buffer, holding its bytes against `budget` (shared by every
 * connection of the listeners, so many parallel senders take bounded memory): first the size the
 * sender declared (`MAIL FROM ... SIZE=`), else INITIAL_RESERVATION, doubled as the mail grows,
 * never past `limit`. While more budget is not available the stream is not read, so the sender is
 * slowed by TCP, not refused. Growing gives back what is held and waits for the whole new amount,
 * so two growing mails never wait on each other. Bytes past `limit` are read and dropped.
 */
export async function receiveMail(
  stream: DataStream,
  budget: ByteBudget,
  limit: number,
  declaredSize?: number,
): Promise<Received> {
  let held = Math.max(1, Math.min(limit, declaredSize && declaredSize > 0 ? declaredSize : INITIAL_RESERVATION));
  await budget.acquire(held);
  let released = false;
  const reservation: Reservation = {
    get bytes() {
      return held;
    },
    release() {
      if (released) return;
      released = true;
      budget.release(held);
    },
  };
  const chunks: Buffer[] = [];
  let total = 0;
  let over = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (over) continue;
      total += chunk.length;
      if (total > limit || stream.sizeExceeded) {
        over = true;
        chunks.length = 0;
        continue;
      }
      if (total > held) {
        const next = Math.min(limit, Math.max(total, held * 2));
        budget.release(held);
        held = 0;
        await budget.acquire(next);
        held = next;
      }
      chunks.push(chunk);
    }
  } catch (e) {
    reservation.release();
    return { kind: 'aborted', error: e as Error };
  }
  if (over || stream.sizeExceeded) {
    reservation.release();
    return { kind: 'too-large' };
  }
  return { kind: 'mail', raw: Buffer.concat(chunks, total), reservation };
}
