import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { isRoutableAddress } from '../common/addresses';
import type { AuthOperator } from '../common/auth.decorators';
import { escapeHtml } from '../common/placeholders';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { OutboxService } from '../outbound-mail/outbox.service';
import type { RequestRecords } from '../requests/request-lifecycle.service';
import { canSeeRequest } from '../requests/request-scope';
import type { ServiceRequest } from '../requests/request.entity';
import { ParticipantsService } from '../requests/participants.service';
import { RequestsService } from '../requests/requests.service';
import { SavedRepliesService } from '../saved-replies/saved-replies.service';
import { WEBHOOK_TEXT_LIMIT } from '../webhooks/webhook-events';
import { WebhooksService } from '../webhooks/webhooks.service';
import { baseSubject } from '../common/subject';
import { MessagesRepository, type MessagesStore } from './messages.repository';
import { MessagesService, type MessageView } from './messages.service';
import { newSideToken, sideMarker } from './side-token';
import { type QuotedMessage, SideThreadsRepository, type SideThreadsStore } from './side-threads.repository';

/** Messages one forward quotes at most (messageIds; the default conversation: its latest ones). */
export const MAX_FORWARD_MESSAGES = 100;
/** Recipients (to and cc together) of one side thread at most. */
export const MAX_SIDE_RECIPIENTS = 10;
/** Characters of each quoted message's text; the rest is cut (the message stays whole on the request). */
const QUOTE_CHARS = 64 * 1024;
/** Characters of quoted text one forward carries in all; later messages keep their header lines only. */
const QUOTE_BUDGET = 1024 * 1024;
/** Bytes of attachments one forward carries at least (what common providers accept in one mail). */
const FORWARD_ATTACHMENT_BYTES = 25 * 1024 * 1024;

/** What an operator forwards: to whom, their note, and which messages (default: the conversation). */
export interface ForwardInput {
  to: string[];
  cc?: string[];
  text: string;
  messageIds?: number[];
}

/** A forward's outcome: the side message on the request and the side thread it opened. */
export interface ForwardResult {
  view: MessageView;
  sideThreadId: number;
}

/**
 * Side threads: an operator forwards messages of a request (with their attachments) to a third
 * party (a vendor, another team) in a thread of its own, and writes follow-ups in it; the third
 * party's answers come back as `side` messages of the request (inbound: threading/side-thread.ts).
 * Side mail goes to the addresses the operator named only: never to the customer or the
 * request's participants unless the operator lists them.
 */
@Injectable()
export class SideThreadsService {
  constructor(
    @Inject(MessagesRepository) private readonly messagesStore: Pick<MessagesStore, 'transaction'>,
    @Inject(SideThreadsRepository) private readonly store: SideThreadsStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RequestsService) private readonly requests: RequestRecords,
    private readonly messages: MessagesService,
    @Inject(OutboxService) private readonly outbox: Pick<OutboxService, 'newMessageId' | 'enqueue' | 'identityFor'>,
    @Inject(WebhooksService) private readonly webhooks: Pick<WebhooksService, 'enqueue'>,
    @Inject(SavedRepliesService) private readonly savedReplies: Pick<SavedRepliesService, 'signatureOf'>,
    @Inject(ParticipantsService) private readonly participants: Pick<ParticipantsService, 'ownAddresses'>,
  ) {}

  /**
   * Forwards messages of a request to a third party: a new side thread (its own token in the
   * subject), a `side` message on the request, one mail from the request's mailbox to `to` (the
   * first in To, the others in Cc) and `cc`, carrying the chosen messages quoted and their
   * attachments; a `forwarded` event and a `message.forwarded` webhook. Any status (a closed
   * request too). 400: a bad or own address, a message not of this request; 404: no such request
   * (or another group's).
   */
  async forward(requestId: number, actor: AuthOperator, input: ForwardInput): Promise<ForwardResult> {
    const { to, cc } = await this.recipients(input.to, input.cc ?? []);
    const result = await this.messagesStore.transaction(async (manager) => {
      const request = await this.mustSee(manager, requestId, actor);
      const chosen = await this.chosen(manager, requestId, input.messageIds);
      const attachments = await this.store.attachmentsOf(
        manager,
        chosen.map((m) => m.id),
      );
      const bytes = attachments.reduce((n, a) => n + a.size, 0);
      const limit = Math.max(FORWARD_ATTACHMENT_BYTES, this.config.attachments.maxBytes);
      if (bytes > limit)
        throw new BadRequestException(
          `the chosen messages carry ${bytes} bytes of attachments, more than a forward carries (${limit}): choose fewer messageIds`,
        );
      const token = newSideToken();
      const subject = `Fwd: ${baseSubject(request.subject)} ${sideMarker(requestId, token)}`.trim();
      const sideThreadId = await this.store.insert(manager, {
        requestId,
        token,
        addresses: [...to, ...cc],
        subject,
        operatorId: actor.id,
      });
      const body = forwardBody(input.text, chosen);
      const messageRowId = await this.send(manager, request, actor, {
        sideThreadId,
        to,
        cc,
        subject,
        body,
        thread: { inReplyTo: null, references: [] },
        attachmentIds: attachments.map((a) => a.id),
      });
      const messageIds = chosen.map((m) => m.id);
      await this.requests.addEvent(manager, requestId, {
        type: 'forwarded',
        actor: 'operator',
        operatorId: actor.id,
        data: { messageId: messageRowId, sideThreadId, to: [...to, ...cc], messageIds },
      });
      await this.webhooks.enqueue(manager, 'message.forwarded', {
        requestId,
        messageId: messageRowId,
        sideThreadId,
        operatorId: actor.id,
        operatorName: actor.name,
        to: [...to, ...cc],
        subject,
        messageIds,
        text: input.text.slice(0, WEBHOOK_TEXT_LIMIT),
      });
      return { messageRowId, sideThreadId };
    });
    return { view: await this.messages.view(result.messageRowId), sideThreadId: result.sideThreadId };
  }

  /**
   * An operator's follow-up in side thread `sideThreadId` of the request: to the thread's addresses
   * (the first in To, the others in Cc), under its latest message (In-Reply-To, References), subject
   * `Re: <the thread's subject>` (its token kept). A `side_reply` event. 404: no such request or thread.
   */
  async followUp(requestId: number, sideThreadId: number, actor: AuthOperator, text: string): Promise<MessageView> {
    const messageRowId = await this.messagesStore.transaction(async (manager) => {
      const request = await this.mustSee(manager, requestId, actor);
      const side = await this.store.findInRequest(manager, requestId, sideThreadId);
      if (!side) throw new NotFoundException(`request ${requestId} has no side thread ${sideThreadId}`);
      const parent = await this.store.latestOfThread(manager, sideThreadId);
      const thread = parent
        ? {
            inReplyTo: parent.messageId,
            references: [...parent.references.filter((r) => r !== parent.messageId), parent.messageId],
          }
        : { inReplyTo: null, references: [] };
      const [first, ...others] = side.addresses;
      const id = await this.send(manager, request, actor, {
        sideThreadId,
        to: [first],
        cc: others,
        subject: /^re:/i.test(side.subject) ? side.subject : `Re: ${side.subject}`,
        body: { text, html: null },
        thread,
        attachmentIds: null,
      });
      await this.requests.addEvent(manager, requestId, {
        type: 'side_reply',
        actor: 'operator',
        operatorId: actor.id,
        data: { messageId: id, sideThreadId },
      });
      return id;
    });
    return this.messages.view(messageRowId);
  }

  /**
   * The side thread an inbound mail answers (its subject's side tokens, or its In-Reply-To and
   * References naming a side message), when `sender` is one of the thread's addresses; else null
   * (the mail is threaded as any other). In the ingest transaction.
   */
  findReplyThread(
    manager: EntityManager,
    tokens: string[],
    messageIds: string[],
    sender: string,
  ): Promise<{ id: number; requestId: number } | null> {
    if (!sender || (!tokens.length && !messageIds.length)) return Promise.resolve(null);
    return this.store.findForReply(manager, tokens, messageIds, sender);
  }

  /** The side message on the request and the mail that carries it (from the request's mailbox). */
  private async send(
    manager: EntityManager,
    request: ServiceRequest,
    actor: AuthOperator,
    m: {
      sideThreadId: number;
      to: string[];
      cc: string[];
      subject: string;
      body: { text: string; html: string | null };
      thread: { inReplyTo: string | null; references: string[] };
      attachmentIds: number[] | null;
    },
  ): Promise<number> {
    const from = await this.outbox.identityFor(manager, request.mailboxId ?? null);
    const messageId = this.outbox.newMessageId();
    const message = await this.messages.append(manager, {
      requestId: request.id,
      direction: 'out',
      kind: 'side',
      operatorId: actor.id,
      fromAddress: from.address,
      fromName: actor.name,
      to: m.to,
      cc: m.cc,
      subject: m.subject,
      text: m.body.text,
      html: m.body.html,
      messageId,
      inReplyTo: m.thread.inReplyTo,
      references: m.thread.references,
      sideThreadId: m.sideThreadId,
    });
    const [first, ...others] = m.to;
    await this.outbox.enqueue(manager, {
      kind: 'forward',
      from,
      to: first,
      cc: [...others, ...m.cc].map((address) => ({ address })),
      subject: m.subject,
      text: m.body.text,
      html: m.body.html,
      messageId,
      inReplyTo: m.thread.inReplyTo,
      references: m.thread.references,
      attachmentIds: m.attachmentIds,
      operatorSignature: await this.savedReplies.signatureOf(actor.id, manager),
      messageRowId: message.id,
    });
    return message.id;
  }

  /**
   * The recipients as given, lower-cased, each once (cc without those of to): 400 when one is not
   * a routable address, is one of our own mailboxes, or there are more than MAX_SIDE_RECIPIENTS.
   */
  private async recipients(toInput: string[], ccInput: string[]): Promise<{ to: string[]; cc: string[] }> {
    const own = await this.participants.ownAddresses();
    const clean = (list: string[]) => {
      const out: string[] = [];
      for (const raw of list) {
        const address = raw.trim().toLowerCase();
        if (!isRoutableAddress(address))
          throw new BadRequestException(`"${raw.slice(0, 320)}" is not an email address`);
        if (own.has(address)) throw new BadRequestException(`${address} is one of our own mailboxes`);
        if (!out.includes(address)) out.push(address);
      }
      return out;
    };
    const to = clean(toInput);
    const cc = clean(ccInput).filter((a) => !to.includes(a));
    if (!to.length) throw new BadRequestException('to names no address');
    if (to.length + cc.length > MAX_SIDE_RECIPIENTS)
      throw new BadRequestException(`at most ${MAX_SIDE_RECIPIENTS} recipients (to and cc together)`);
    return { to, cc };
  }

  /** The request, when the actor sees it (another group's answers as a missing one: request-scope.ts). */
  private async mustSee(manager: EntityManager, requestId: number, actor: AuthOperator): Promise<ServiceRequest> {
    const request = await this.requests.findById(requestId, manager);
    if (!request || !canSeeRequest(actor, request.groupId))
      throw new NotFoundException(`request ${requestId} does not exist`);
    return request;
  }

  /**
   * The messages a forward quotes: `ids` (each of this request, any kind; 400 naming those that
   * are not), or the customer-visible conversation (its latest MAX_FORWARD_MESSAGES).
   */
  private async chosen(manager: EntityManager, requestId: number, ids?: number[]): Promise<QuotedMessage[]> {
    if (ids === undefined)
      return this.store.conversationMessages(manager, requestId, MAX_FORWARD_MESSAGES, QUOTE_CHARS);
    const unique = [...new Set(ids)];
    const found = await this.store.chosenMessages(manager, requestId, unique, QUOTE_CHARS);
    const missing = unique.filter((id) => !found.some((m) => m.id === id));
    if (missing.length) throw new BadRequestException(`request ${requestId} has no message ${missing.join(', ')}`);
    return found;
  }
}

/** `Name <address>` or the bare address, for a quoted header line. */
function sender(m: QuotedMessage): string {
  return m.fromName ? `${m.fromName} <${m.fromAddress}>` : m.fromAddress;
}

/**
 * The body of a forward: the operator's note, then each message under a separator with its From,
 * Date and Subject lines and its text (cut at QUOTE_CHARS; after QUOTE_BUDGET characters in all,
 * header lines only). The HTML alternative holds the same, every value escaped.
 */
export function forwardBody(note: string, chosen: QuotedMessage[]): { text: string; html: string } {
  const text: string[] = [note];
  const html: string[] = [`<div>${escapeHtml(note).replace(/\r?\n/g, '<br>')}</div>`];
  let budget = QUOTE_BUDGET;
  for (const m of chosen) {
    let body = m.text;
    let omitted = m.cut ? '\n[... cut]' : '';
    if (body.length > budget) {
      body = body.slice(0, Math.max(budget, 0));
      omitted = '\n[... the rest is not in this forward: size limit]';
    }
    budget -= body.length;
    const lines = [`From: ${sender(m)}`, `Date: ${m.createdAt.toUTCString()}`, `Subject: ${m.subject}`];
    text.push('', '---------- Forwarded message ----------', ...lines, '', body + omitted);
    html.push(
      '<hr>',
      `<p>${lines.map((l) => escapeHtml(l)).join('<br>')}</p>`,
      `<blockquote style="white-space:pre-wrap">${escapeHtml(body + omitted)}</blockquote>`,
    );
  }
  return { text: text.join('\n'), html: html.join('\n') };
}
