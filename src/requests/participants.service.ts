import { BadRequestException, Inject, Injectable, NotFoundException, Optional } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { MailboxDirectory } from '../mailboxes/mailbox';
import { MailboxDirectoryService } from '../mailboxes/mailbox-directory.service';
import { canSeeRequest, type RequestActor } from './request-scope';
import { type Participant, ParticipantsRepository, type ParticipantsStore } from './participants.repository';
import { RequestsRepository, type RequestsStore } from './requests.repository';

export type { Participant, ParticipantSource } from './participants.repository';

/**
 * Most participants a request has: a mail's To/Cc past it are left out (with an event), an
 * operator's list or Cc past it is refused. Also the most Cc or Bcc addresses of one operator mail.
 */
export const MAX_PARTICIPANTS = 50;

/** An address of a mail's To or Cc, with the display name the mail gave it. */
export interface MailAddress {
  address: string;
  name?: string | null;
}

/**
 * A request's participants (issue 20 item 1): the other people of the customer's mail (its To and
 * Cc but our own addresses, never its Bcc, which no received mail shows), added at ingest, by an
 * operator's Cc or list, or by a merge. They get operator mail in Cc by default, and their mail
 * threads into the request like the customer's (RequestsRepository.findForParticipant).
 */
@Injectable()
export class ParticipantsService {
  constructor(
    @Inject(ParticipantsRepository) private readonly store: ParticipantsStore,
    @Inject(RequestsRepository) private readonly requests: Pick<RequestsStore, 'findById' | 'insertEvent'>,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'mail'>,
    @Optional()
    @Inject(MailboxDirectoryService)
    private readonly mailboxes?: Pick<MailboxDirectory, 'ownAddresses'>,
  ) {}

  /** The request's participants, in the order they joined. */
  list(requestId: number, manager?: EntityManager): Promise<Participant[]> {
    return this.store.list(requestId, manager);
  }

  /**
   * Our own addresses (every mailbox's address and alias, and SUPPORT_ADDRESS): never a
   * participant, never an operator's Cc or Bcc. Read from the directory's cache.
   */
  async ownAddresses(): Promise<ReadonlySet<string>> {
    const own = new Set(this.mailboxes ? await this.mailboxes.ownAddresses() : []);
    own.add(this.config.mail.supportAddress.toLowerCase());
    return own;
  }

  /**
   * At ingest, in its transaction: the To and Cc of a customer's (or a participant's) mail on
   * request `requestId` join it, but our own addresses (`own`), the request's customer and those on
   * it already. At most MAX_PARTICIPANTS are looked at and the request keeps at most
   * MAX_PARTICIPANTS: a mail with 10,000 recipients costs one bounded statement, and a
   * `participants_added` event (data: `emails`, and `ignored`, how many were left out) says what
   * happened. The addresses added.
   */
  async addFromMail(
    manager: EntityManager,
    requestId: number,
    recipients: readonly MailAddress[],
    own: ReadonlySet<string>,
  ): Promise<string[]> {
    const candidates = distinctPeople(recipients, own);
    if (candidates.length === 0) return [];
    const looked = candidates.slice(0, MAX_PARTICIPANTS);
    const added = await this.store.add(requestId, looked, 'mail', MAX_PARTICIPANTS, manager);
    let ignored = candidates.length - looked.length;
    if (added.length < looked.length) ignored += countLeftOut(looked, added, await this.store.list(requestId, manager));
    if (added.length === 0 && ignored === 0) return added;
    await this.requests.insertEvent(
      requestId,
      { type: 'participants_added', actor: 'customer', data: { emails: added, ...(ignored > 0 ? { ignored } : {}) } },
      manager,
    );
    return added;
  }

  /**
   * The addresses an operator Cc'd that are not participants yet join the request (a person Cc'd
   * by hand joins the conversation, as in a mail client's reply-all), with a `participants_added`
   * event by the operator. The caller has checked them (checkRecipients). The addresses added.
   */
  async addFromOperator(
    manager: EntityManager,
    requestId: number,
    people: readonly Participant[],
    operatorId: number,
  ): Promise<string[]> {
    const added = await this.store.add(requestId, people, 'operator', MAX_PARTICIPANTS, manager);
    if (added.length > 0)
      await this.requests.insertEvent(
        requestId,
        { type: 'participants_added', actor: 'operator', operatorId, data: { emails: added } },
        manager,
      );
    return added;
  }

  /**
   * `PUT /requests/:id/participants`: the list becomes `people` (lower-case, distinct; checked
   * here: not our own addresses, not the customer, at most MAX_PARTICIPANTS), names given kept;
   * a `participants_changed` event records who was added and removed. 404 for a request the actor
   * does not see. The new list.
   */
  async replace(
    requestId: number,
    actor: RequestActor & { id: number },
    people: readonly Participant[],
  ): Promise<Participant[]> {
    const own = await this.ownAddresses();
    return this.store.transaction(async (manager) => {
      const request = await this.requests.findById(requestId, manager);
      if (!request || !canSeeRequest(actor, request.groupId))
        throw new NotFoundException(`request ${requestId} does not exist`);
      const list = distinctPeople(people, new Set());
      checkRecipients(
        list.map((p) => p.email),
        own,
        request.customer!.email,
        'participants',
      );
      const removed = await this.store.removeOthers(
        requestId,
        list.map((p) => p.email),
        manager,
      );
      for (const p of list) await this.store.rename(requestId, p.email, p.name, manager);
      const added = await this.store.add(requestId, list, 'operator', MAX_PARTICIPANTS, manager);
      if (added.length > 0 || removed.length > 0)
        await this.requests.insertEvent(
          requestId,
          { type: 'participants_changed', actor: 'operator', operatorId: actor.id, data: { added, removed } },
          manager,
        );
      return this.store.list(requestId, manager);
    });
  }
}

/**
 * The rule of the addresses an operator names (Cc, Bcc, the participant list): at most
 * MAX_PARTICIPANTS, none of our own addresses (a mail to ourselves would come back as a loop),
 * not the request's customer (the mail's To already): 400 saying which.
 */
export function checkRecipients(
  addresses: readonly string[],
  own: ReadonlySet<string>,
  customer: string,
  field: string,
): void {
  if (addresses.length > MAX_PARTICIPANTS)
    throw new BadRequestException(`${field}: at most ${MAX_PARTICIPANTS} addresses`);
  const ours = addresses.filter((a) => own.has(a));
  if (ours.length > 0)
    throw new BadRequestException(`${field}: ${ours.join(', ')} is our own address (a mailbox of this desk)`);
  if (addresses.includes(customer))
    throw new BadRequestException(`${field}: ${customer} is the request's customer (the mail's To)`);
}

/** The addresses of `people`, lower-cased, each once (its first name kept), leaving out `own` and empty ones. */
function distinctPeople(
  people: readonly MailAddress[] | readonly Participant[],
  own: ReadonlySet<string>,
): Participant[] {
  const seen = new Map<string, Participant>();
  for (const p of people) {
    const email = ('address' in p ? p.address : p.email).trim().toLowerCase();
    if (!email || email.length > 320 || email.length < 3 || own.has(email) || seen.has(email)) continue;
    const name = (p.name ?? '').trim().slice(0, 200) || null;
    seen.set(email, { email, name });
  }
  return [...seen.values()];
}

/** How many of `looked` were left out for the limit: neither added nor on the request now (the customer excepted by the caller's count). */
function countLeftOut(looked: readonly Participant[], added: readonly string[], now: readonly Participant[]): number {
  if (now.length < MAX_PARTICIPANTS) return 0;
  const on = new Set([...added, ...now.map((p) => p.email)]);
  return looked.filter((p) => !on.has(p.email)).length;
}
