import { EntityManager } from 'typeorm';
import { MessagesService } from '../../messages/messages.service';
import { RequestsService } from '../../requests/requests.service';
import { MAX_REFERENCES, MAX_SUBJECT_TOKENS } from '../parser/limits';
import { ParsedMail } from '../parser/parsed-mail';

export type ThreadDecision =
  /** An open request the sender takes part in, found by token or Message-ID. */
  | { kind: 'existing'; requestId: number }
  /** No open request referred to: the sender's own open request, or a new one (linked to a closed one it referred to). */
  | { kind: 'sender'; previousRequestId: number | null };

/**
 * `[#123]` request tokens in a subject, in order of appearance, each once: the first
 * MAX_SUBJECT_TOKENS (each is looked up in the ingest transaction).
 */
export function subjectTokens(subject: string): number[] {
  const tokens = new Set<number>();
  for (const m of subject.matchAll(/\[#(\d{1,9})\]/g)) {
    if (tokens.size >= MAX_SUBJECT_TOKENS) break;
    tokens.add(Number(m[1]));
  }
  return [...tokens];
}

/**
 * DESIGN.md 5.3, in order: a request token in the subject, or a Message-ID of a request's
 * conversation in In-Reply-To/References, naming a request whose customer or participant is the
 * sender; open -> that request; closed -> remembered as the previous request of the next one.
 * Bounded: the first MAX_SUBJECT_TOKENS tokens and the last MAX_REFERENCES References ids.
 */
export async function resolveThread(
  manager: EntityManager,
  mail: ParsedMail,
  sender: string,
  requests: RequestsService,
  messages: MessagesService,
): Promise<ThreadDecision> {
  const referenced = [mail.inReplyTo, ...mail.references.slice(-MAX_REFERENCES).reverse()].filter(
    (x): x is string => !!x,
  );
  const candidates = [...subjectTokens(mail.subject), ...(await messages.requestIdsForMessageIds(manager, referenced))];
  let closed: number | null = null;
  for (const id of new Set(candidates)) {
    const found = await requests.findForParticipant(manager, id, sender);
    if (!found) continue;
    if (found.status !== 'closed') return { kind: 'existing', requestId: found.id };
    closed ??= found.id;
  }
  return { kind: 'sender', previousRequestId: closed };
}
