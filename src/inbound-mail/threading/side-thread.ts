import type { EntityManager } from 'typeorm';
import { normalizeAddress } from '../../common/addresses';
import { sideTokens } from '../../messages/side-token';
import type { SideThreadsService } from '../../messages/side-threads.service';
import { referencedMessageIds } from '../parser/message-ids';
import type { ParsedMail } from '../parser/parsed-mail';

/** What threading asks of side threads (SideThreadsService; an in-memory fake in unit tests). */
export type ThreadSides = Pick<SideThreadsService, 'findReplyThread'>;

/** A third party's answer in a side thread of a request (a forward): stored there as a `side` message. */
export interface SideThread {
  kind: 'side';
  requestId: number;
  sideThreadId: number;
  /** Why it is never answered when it is automatic mail (an out-of-office); null for a person's. */
  automatic: string | null;
}

/**
 * The side step of threading, before the customer's: a mail whose subject holds a side token
 * (`[#123-f:<token>]`) or whose In-Reply-To/References name a message of a side thread, sent from
 * one of that thread's addresses, answers the side thread. Null otherwise (a mail naming a side
 * thread from another sender, e.g. a customer given a copy, or a forgery, is threaded as any
 * other mail: it never lands in the side thread). Bounded as resolveThread is: the first subject
 * tokens and the last References ids.
 */
export async function threadSideReply(
  manager: EntityManager,
  mail: ParsedMail,
  automatic: string | null,
  sides: ThreadSides,
): Promise<SideThread | null> {
  const sender = normalizeAddress(mail.from?.address);
  if (!sender) return null;
  const tokens = sideTokens(mail.subject);
  const referenced = referencedMessageIds(mail);
  const found = await sides.findReplyThread(manager, tokens, referenced, sender);
  return found ? { kind: 'side', requestId: found.requestId, sideThreadId: found.id, automatic } : null;
}
