import { EntityManager } from 'typeorm';
import { MAX_SUBJECT_LENGTH, subjectOrNone } from '../../common/subject';
import type { MessagesService } from '../../messages/messages.service';
import type { RequestRoute, RequestsService } from '../../requests/requests.service';
import { mailPriority } from '../../requests/tags';
import type { AdmitDecision } from '../filters';
import { bouncedMessageIds, referencedMessageIds } from '../parser/message-ids';
import { ParsedMail } from '../parser/parsed-mail';
import { subjectTokens } from '../parser/subject-tokens';
import { type SideThread, threadSideReply, type ThreadSides } from './side-thread';

/** What threading asks of the requests (RequestsService; an in-memory fake in unit tests). */
export type ThreadRequests = Pick<
  RequestsService,
  'findForParticipant' | 'followMerges' | 'upsertCustomer' | 'openRequestFor'
>;

/** What threading asks of the messages (MessagesService; an in-memory fake in unit tests). */
export type ThreadMessages = Pick<MessagesService, 'requestIdsForMessageIds' | 'requestIdsForOwnMessageIds'>;

export type ThreadDecision =
  /** An open request the sender takes part in, found by token or Message-ID. */
  | { kind: 'existing'; requestId: number }
  /** No open request referred to: the sender's own open request, or a new one (linked to a closed one it referred to). */
  | { kind: 'sender'; previousRequestId: number | null };

/** Where one claimed mail goes: the outcome of the ingest pipeline's thread step. */
export type Thread =
  /** On no request: kept in inbound_mail only, as `ignored` with the reason. */
  | { kind: 'none'; reason: string }
  /** A delivery report, on the request of the desk's mail it returns. */
  | { kind: 'bounce'; requestId: number; reason: string }
  /**
   * Customer mail, on the request it joins or opened (`created`); `automatic` is the reason it is
   * never answered (automatic mail), null for a person's mail.
   */
  | { kind: 'customer'; requestId: number; created: boolean; automatic: string | null }
  /** A third party's answer in a side thread of a request (threading/side-thread.ts). */
  | SideThread;

/** A thread on a request: the mail is stored there. */
export type RequestThread = Exclude<Thread, { kind: 'none' }>;

/** The subject of the request a mail opens (its first MAX_SUBJECT_LENGTH characters). */
export function requestSubject(mail: Pick<ParsedMail, 'subject'>): string {
  return subjectOrNone(mail.subject).slice(0, MAX_SUBJECT_LENGTH);
}

/**
 * The thread step, in the ingest transaction: own mail and blocked senders go on no request; a
 * bounce goes on the request of the desk's mail it returns (DESIGN.md 5.2); customer mail joins
 * the request it refers to (in any mailbox: a reply to a billing mail lands in the billing request
 * whatever address it was sent to), else the sender's open request in the mail's mailbox
 * (`route`), else opens one there, in the mailbox's group (DESIGN.md 5.3). Before the customer's
 * resolution, with `sides`: a third party's answer to a forward joins its side thread (side-thread.ts).
 */
export function threadMail(
  manager: EntityManager,
  mail: ParsedMail,
  raw: Buffer,
  decision: AdmitDecision,
  requests: ThreadRequests,
  messages: ThreadMessages,
  route: RequestRoute = DEFAULT_REQUEST_ROUTE,
  sides?: ThreadSides,
): Promise<Thread> {
  switch (decision.action) {
    case 'ignore':
      return Promise.resolve({ kind: 'none', reason: decision.reason });
    case 'bounce':
      return threadBounce(manager, mail, raw, decision.reason, messages);
    case 'automatic':
      return threadPersonMail(manager, mail, decision.reason, requests, messages, route, sides);
    case 'continue':
      return threadPersonMail(manager, mail, null, requests, messages, route, sides);
  }
}

/** A side thread's answer (when `sides` is given), else customer mail. */
async function threadPersonMail(
  manager: EntityManager,
  mail: ParsedMail,
  automatic: string | null,
  requests: ThreadRequests,
  messages: ThreadMessages,
  route: RequestRoute,
  sides: ThreadSides | undefined,
): Promise<Thread> {
  const side = sides ? await threadSideReply(manager, mail, automatic, sides) : null;
  return side ?? threadCustomerMail(manager, mail, automatic, requests, messages, route);
}

/** The route of mail of the default mailbox in a deployment without mailboxes: no mailbox row, no group. */
const DEFAULT_REQUEST_ROUTE: RequestRoute = { mailboxId: null, groupId: null };

/**
 * Only mail the desk sent can bounce back to it: a quoted customer Message-ID (backscatter, forged
 * bounces) attaches to nothing.
 */
async function threadBounce(
  manager: EntityManager,
  mail: ParsedMail,
  raw: Buffer,
  reason: string,
  messages: ThreadMessages,
): Promise<Thread> {
  const [requestId] = await messages.requestIdsForOwnMessageIds(manager, bouncedMessageIds(mail, raw));
  if (requestId === undefined) return { kind: 'none', reason: `${reason}; refers to no mail the desk sent` };
  return { kind: 'bounce', requestId, reason };
}

/** The request a customer's mail joins or opens; none when the customer is blocked. */
async function threadCustomerMail(
  manager: EntityManager,
  mail: ParsedMail,
  automatic: string | null,
  requests: ThreadRequests,
  messages: ThreadMessages,
  route: RequestRoute,
): Promise<Thread> {
  const sender = mail.from?.address ?? '';
  const thread = await resolveThread(manager, mail, sender, requests, messages);
  if (thread.kind === 'existing') return { kind: 'customer', requestId: thread.requestId, created: false, automatic };
  const customer = await requests.upsertCustomer(manager, sender, mail.from?.name || null, mail.locale ?? null);
  if (customer.blocked) return { kind: 'none', reason: 'sender is blocked' };
  const { mailboxId, groupId } = route;
  // A person's mail may ask for high priority (Importance, X-Priority, Priority headers); automatic mail stays normal.
  const priority =
    automatic === null
      ? mailPriority({
          importance: mail.headers.get('importance'),
          xPriority: mail.headers.get('x-priority'),
          priority: mail.headers.get('priority'),
        })
      : 'normal';
  const opened = await requests.openRequestFor(
    manager,
    customer.id,
    requestSubject(mail),
    thread.previousRequestId,
    { mailboxId, groupId },
    priority,
  );
  return { kind: 'customer', requestId: opened.id, created: opened.created, automatic };
}

/**
 * DESIGN.md 5.3, in order: a request token in the subject, or a Message-ID of a request's
 * conversation in In-Reply-To/References, naming a request whose customer or participant is the
 * sender; open -> that request; closed -> remembered as the previous request of the next one.
 * A merged request stands for the request it was merged into (followMerges).
 * Bounded: the first MAX_SUBJECT_TOKENS tokens and the last MAX_REFERENCES References ids.
 */
export async function resolveThread(
  manager: EntityManager,
  mail: ParsedMail,
  sender: string,
  requests: Pick<ThreadRequests, 'findForParticipant' | 'followMerges'>,
  messages: Pick<ThreadMessages, 'requestIdsForMessageIds'>,
): Promise<ThreadDecision> {
  const referenced = referencedMessageIds(mail);
  const named = [...subjectTokens(mail.subject), ...(await messages.requestIdsForMessageIds(manager, referenced))];
  const candidates = await requests.followMerges(manager, named);
  let closed: number | null = null;
  for (const id of candidates) {
    const found = await requests.findForParticipant(manager, id, sender);
    if (!found) continue;
    if (found.status !== 'closed') return { kind: 'existing', requestId: found.id };
    closed ??= found.id;
  }
  return { kind: 'sender', previousRequestId: closed };
}
