import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  Optional,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { AuthOperator } from '../common/auth.decorators';
import { DetailedHttpException } from '../common/detailed-http.exception';
import { escapeHtml } from '../common/placeholders';
import { cidReferences, htmlToPlainText, mailHtmlOf, renameCids, sanitizeMailHtml } from '../common/safe-html';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ratingLinks } from '../feedback/rating-token';
import { OutboxService } from '../outbound-mail/outbox.service';
import type { MailIdentity } from '../outbound-mail/mail-identity';
import type { AutoReplyEvent } from '../outbound-mail/outgoing-mail';
import { TemplatesService } from '../outbound-mail/templates.service';
import {
  checkRecipients,
  MAX_PARTICIPANTS,
  type Participant,
  ParticipantsService,
} from '../requests/participants.service';
import { canSeeRequest } from '../requests/request-scope';
import type { LifecycleAutoReplies, RequestRecords } from '../requests/request-lifecycle.service';
import type { ServiceRequest } from '../requests/request.entity';
import { baseSubject } from '../common/subject';
import { RequestsService } from '../requests/requests.service';
import { SavedRepliesService } from '../saved-replies/saved-replies.service';
import { WEBHOOK_TEXT_LIMIT } from '../webhooks/webhook-events';
import { WebhooksService } from '../webhooks/webhooks.service';
import { MessagesRepository, type MessagesStore } from './messages.repository';
import { MessagesService, MessageView, NewAttachment } from './messages.service';

/** Addresses that never get an automatic answer (RFC 3834 section 2 and common practice). */
const NEVER_AUTO_REPLY =
  /^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|listserv|majordomo)([+._-].*)?@/i;

/**
 * What the conversation asks of the outbox: our Message-IDs, queueing mail (the dispatcher is woken
 * when the transaction commits), and the auto-reply count.
 */
export type ConversationOutbox = Pick<
  OutboxService,
  'newMessageId' | 'enqueue' | 'countAutoRepliesSince' | 'identityFor'
>;

/** What the conversation asks of saved replies: a reply rendered for a request, and operators' signatures. */
export type ConversationReplies = Pick<SavedRepliesService, 'render' | 'signatureOf'>;

/** An operator's message as composed: the text, the HTML the mail carries and its stored safe form, the files. */
export interface ComposedMessage {
  text: string;
  /** The HTML the mail carries (sanitized; remote images shown, `cid:` for inline files); null: text only. */
  html: string | null;
  /** The stored safe form of `html` (messages.safe_html). */
  safeHtml: string | null;
  attachments?: NewAttachment[];
}

/**
 * The operator's HTML through the mail allow-list (src/common/safe-html.ts), and its inline images:
 * each `<img src="cid:NAME">` names an uploaded file by its filename, which gets a generated
 * Content-ID (the mail shows it inline, multipart/related) and the HTML that Content-ID. A cid
 * naming no uploaded file is a 400. Returns the stored safe form, the mail's HTML and the files.
 */
export function operatorHtml(
  html: string,
  files: NewAttachment[] = [],
): { safeHtml: string; mailHtml: string; attachments: NewAttachment[] } {
  let safe = sanitizeMailHtml(html);
  const attachments = files.map((f) => ({ ...f }));
  const renamed = new Map<string, string>();
  for (const ref of cidReferences(safe)) {
    const file =
      attachments.find((f) => f.filename === ref) ??
      attachments.find((f) => f.filename.toLowerCase() === ref.toLowerCase()) ??
      attachments.find((f) => f.contentId === ref);
    if (!file) throw new BadRequestException(`html shows cid:${ref}, but no file of that name was uploaded`);
    file.contentId ??= `${randomUUID()}@maildesk`;
    renamed.set(ref, file.contentId);
  }
  if (renamed.size) safe = renameCids(safe, (ref) => renamed.get(ref) ?? null);
  return { safeHtml: safe, mailHtml: mailHtmlOf(safe), attachments };
}

/** What an operator writes: text, or a saved reply by id (then text, if any, follows it), html optional. */
export interface OperatorMessageInput {
  text?: string;
  html?: string | null;
  savedReplyId?: number;
  attachments?: NewAttachment[];
  /**
   * The Cc (lower-case, distinct addresses): absent, the request's participants; `[]`, none (the
   * customer only). An address that is not a participant becomes one.
   */
  cc?: string[];
  /** The Bcc (lower-case, distinct): envelope recipients only, never a header, never participants. */
  bcc?: string[];
  /**
   * Collision detection: the id of the last message the operator saw. When someone else wrote since
   * (refuseIfWrittenSince), nothing is sent: a 409 lists what arrived. Absent: no check.
   */
  lastSeenMessageId?: number;
}

/** Messages listed at most in the 409 of a stale write (the count says how many there are). */
export const STALE_WRITE_LISTED = 20;

/** What the conversation asks of the participants (ParticipantsService). */
export type ConversationParticipants = Pick<ParticipantsService, 'list' | 'ownAddresses' | 'addFromOperator'>;

/**
 * What is written to a request's customer: operators' messages and the automatic answers (these
 * also for RequestLifecycleService, which takes and closes requests). Each message and the mail it
 * causes commit together. Every mail is from the request's mailbox (OutboxService.identityFor: its
 * address, name and signature), as is the conversation message that records it.
 */
@Injectable()
export class ConversationService implements LifecycleAutoReplies {
  private readonly logger = new Logger(ConversationService.name);

  constructor(
    @Inject(MessagesRepository) private readonly store: Pick<MessagesStore, 'transaction' | 'writtenSince'>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RequestsService) private readonly requests: RequestRecords,
    private readonly messages: MessagesService,
    @Inject(OutboxService) private readonly outbox: ConversationOutbox,
    @Inject(TemplatesService) private readonly templates: Pick<TemplatesService, 'render'>,
    @Inject(WebhooksService) private readonly webhooks: Pick<WebhooksService, 'enqueue'>,
    @Inject(SavedRepliesService) private readonly savedReplies: ConversationReplies,
    @Optional()
    @Inject(ParticipantsService)
    private readonly participants?: ConversationParticipants,
  ) {}

  /**
   * An operator writes to the customer: stored, and emailed in the customer's thread, the
   * participants in Cc unless `input.cc` says otherwise (recipients: recipientsOf). The stored
   * message and the outbox row hold To, Cc and Bcc exactly as sent.
   */
  async postOperatorMessage(requestId: number, actor: AuthOperator, input: OperatorMessageInput): Promise<MessageView> {
    const own = this.participants ? await this.participants.ownAddresses() : new Set<string>();
    const messageRowId = await this.store.transaction(async (manager) => {
      const request = await this.mustFind(manager, requestId);
      // A request of another group answers as a missing one (request-scope.ts).
      if (!canSeeRequest(actor, request.groupId)) throw new NotFoundException(`request ${requestId} does not exist`);
      if (request.status === 'closed') throw new ConflictException(`request ${requestId} is closed`);
      if (input.lastSeenMessageId !== undefined)
        await this.refuseIfWrittenSince(manager, requestId, actor.id, input.lastSeenMessageId);
      const to = request.customer!.email;
      const { cc, bcc } = await this.recipientsOf(manager, request, input, own, actor.id);
      const body = await this.composeOperatorMessage(manager, request, actor, input);
      const from = await this.outbox.identityFor(manager, request.mailboxId ?? null);
      const thread = await this.threadOf(manager, requestId);
      const messageId = this.outbox.newMessageId();
      const subject = `Re: [#${requestId}] ${baseSubject(request.subject)}`.trim();
      const message = await this.messages.append(manager, {
        requestId,
        direction: 'out',
        kind: 'operator',
        operatorId: actor.id,
        fromAddress: from.address,
        fromName: actor.name,
        to: [to],
        cc: cc.map((p) => p.email),
        bcc,
        subject,
        text: body.text,
        html: body.html,
        safeHtml: body.safeHtml,
        messageId,
        inReplyTo: thread.inReplyTo,
        references: thread.references,
        attachments: body.attachments,
        firstResponse: true,
      });
      await this.outbox.enqueue(manager, {
        kind: 'operator',
        from,
        to,
        toName: request.customer!.name,
        cc: cc.map((p) => ({ address: p.email, name: p.name })),
        bcc,
        subject,
        text: body.text,
        html: body.html,
        messageId,
        inReplyTo: thread.inReplyTo,
        references: thread.references,
        operatorSignature: await this.savedReplies.signatureOf(actor.id, manager),
        messageRowId: message.id,
      });
      await this.requests.addEvent(manager, requestId, {
        type: 'message',
        actor: 'operator',
        operatorId: actor.id,
        data: { messageId: message.id, direction: 'out' },
      });
      await this.webhooks.enqueue(manager, 'message.sent', {
        requestId,
        messageId: message.id,
        operatorId: actor.id,
        operatorName: actor.name,
        to,
        cc: cc.map((p) => p.email),
        subject,
        text: body.text.slice(0, WEBHOOK_TEXT_LIMIT),
        attachments: (body.attachments ?? []).map((a) => a.filename),
      });
      return message.id;
    });
    return this.messages.view(messageRowId);
  }

  /**
   * Collision detection (docs/behaviour.md): with the request's row locked until the transaction
   * ends (so no message can arrive between this look and the append), a 409 when anything was
   * written since message `lastSeenMessageId` by someone other than the operator: customer mail,
   * another operator's message or note, side-thread mail, a bounce (the desk's automatic answers and
   * the operator's own messages do not count). Its body lists the first STALE_WRITE_LISTED in
   * `newMessages` and their number in `newMessageCount`. A message that is not the request's is a 400.
   */
  private async refuseIfWrittenSince(
    manager: EntityManager,
    requestId: number,
    operatorId: number,
    lastSeenMessageId: number,
  ): Promise<void> {
    const since = await this.store.writtenSince(manager, requestId, lastSeenMessageId, operatorId, STALE_WRITE_LISTED);
    if (since === null)
      throw new BadRequestException(`lastSeenMessageId: message ${lastSeenMessageId} is not in request ${requestId}`);
    if (since.total === 0) return;
    const what = since.total === 1 ? '1 message was' : `${since.total} messages were`;
    throw new DetailedHttpException(
      409,
      `${what} written on request ${requestId} since message ${lastSeenMessageId}: read before sending (nothing was sent)`,
      {
        newMessageCount: since.total,
        newMessages: since.messages.map((m) => ({
          id: m.id,
          seq: m.seq,
          kind: m.kind,
          from: m.fromAddress,
          fromName: m.fromName,
          operatorId: m.operatorId,
          createdAt: m.createdAt.toISOString(),
        })),
      },
    );
  }

  /**
   * The Cc and Bcc of an operator's mail on `request`. Cc: the participants when `input.cc` is
   * absent, else exactly the addresses given (names of participants kept), those not yet
   * participants joining the request (ParticipantsService.addFromOperator). Bcc: as given. Neither
   * may hold our own addresses or the customer, nor one address in both (400).
   */
  private async recipientsOf(
    manager: EntityManager,
    request: ServiceRequest,
    input: OperatorMessageInput,
    own: ReadonlySet<string>,
    operatorId: number,
  ): Promise<{ cc: Participant[]; bcc: string[] }> {
    const bcc = input.bcc ?? [];
    const customer = request.customer!.email;
    checkRecipients(bcc, own, customer, 'bcc');
    if (!this.participants) return { cc: (input.cc ?? []).map((email) => ({ email, name: null })), bcc };
    const participants = await this.participants.list(request.id, manager);
    if (input.cc === undefined) {
      const cc = participants.filter((p) => !own.has(p.email) && p.email !== customer);
      const both = cc.filter((p) => bcc.includes(p.email));
      if (both.length > 0)
        throw new BadRequestException(
          `bcc: ${both.map((p) => p.email).join(', ')} is a participant (in Cc by default)`,
        );
      return { cc, bcc };
    }
    checkRecipients(input.cc, own, customer, 'cc');
    const both = input.cc.filter((a) => bcc.includes(a));
    if (both.length > 0) throw new BadRequestException(`${both.join(', ')} is in both cc and bcc`);
    const known = new Map(participants.map((p) => [p.email, p]));
    const cc = input.cc.map((email) => known.get(email) ?? { email, name: null });
    const joining = cc.filter((p) => !known.has(p.email));
    if (joining.length > 0) {
      const added = await this.participants.addFromOperator(manager, request.id, joining, operatorId);
      if (added.length < joining.length)
        throw new BadRequestException(`cc: a request has at most ${MAX_PARTICIPANTS} participants`);
    }
    return { cc, bcc };
  }

  /**
   * The text and HTML of an operator's message: the saved reply (variables filled in for this
   * request; 404 when the operator does not see it) then their text after a blank line; in the HTML
   * (when given), the reply escaped in a paragraph before it. Without a reply, as written. The HTML
   * goes through the allow-list (operatorHtml: inline images by cid); without text, the text
   * alternative is made from it (html-to-text).
   */
  private async composeOperatorMessage(
    manager: EntityManager,
    request: ServiceRequest,
    actor: AuthOperator,
    input: OperatorMessageInput,
  ): Promise<ComposedMessage> {
    const given = input.html ?? null;
    const safe = given === null ? null : operatorHtml(given, input.attachments);
    const attachments = safe ? safe.attachments : input.attachments;
    const htmlText = safe ? htmlToPlainText(safe.mailHtml) : null;
    if (input.savedReplyId === undefined) {
      const text = input.text ?? htmlText;
      if (text === null) throw new BadRequestException('text, html or savedReplyId is required');
      return { text, html: safe?.mailHtml ?? null, safeHtml: safe?.safeHtml ?? null, attachments };
    }
    const reply = await this.savedReplies.render(
      actor,
      input.savedReplyId,
      {
        customerName: request.customer!.name,
        customerEmail: request.customer!.email,
        requestId: request.id,
        requestSubject: request.subject,
        operatorName: actor.name,
      },
      manager,
    );
    const after = input.text ?? htmlText;
    const replyHtml = `<p>${escapeHtml(reply).replace(/\r?\n/g, '<br />')}</p>`;
    return {
      text: after === null || after === '' ? reply : `${reply}\n\n${after}`,
      html: safe ? `${replyHtml}${safe.mailHtml}` : null,
      safeHtml: safe ? `${replyHtml}${safe.safeHtml}` : null,
      attachments,
    };
  }

  /**
   * The automatic answer for `event`, in the caller's transaction: stored as an `auto_reply`
   * message and queued, unless the address must never be answered or its hourly limit is reached
   * (then a `auto_reply_suppressed` event says why). Returns whether a mail was queued.
   */
  async sendAutoReply(
    manager: EntityManager,
    requestId: number,
    event: AutoReplyEvent,
    vars: { operatorName?: string } = {},
  ): Promise<boolean> {
    const request = await this.mustFind(manager, requestId);
    const customer = request.customer!;
    const to = customer.email;
    const from = await this.outbox.identityFor(manager, request.mailboxId ?? null);
    const reason = await this.suppressionReason(manager, to, customer.blocked, from);
    if (reason) {
      await this.requests.addEvent(manager, requestId, {
        type: 'auto_reply_suppressed',
        actor: 'system',
        data: { event, reason },
      });
      this.logger.log(`auto-reply "${event}" for request ${requestId} not sent: ${reason}`);
      return false;
    }
    const rendered = this.templates.render(event, {
      requestId: String(requestId),
      subject: baseSubject(request.subject),
      customerName: customer.name || customer.email,
      customerEmail: customer.email,
      operatorName: vars.operatorName ?? request.operator?.name ?? '',
      supportName: from.name,
      supportAddress: from.address,
      locale: customer.locale ?? null,
      ratingLinks:
        event === 'closed'
          ? ratingLinks(
              this.config.auth.jwtSecret!,
              this.config.feedback.publicUrl,
              requestId,
              this.config.feedback.linkTtlDays,
            )
          : [],
    });
    const thread = await this.threadOf(manager, requestId);
    const messageId = this.outbox.newMessageId();
    const message = await this.messages.append(manager, {
      requestId,
      direction: 'out',
      kind: 'auto_reply',
      fromAddress: from.address,
      fromName: from.name,
      to: [to],
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      // Our own template, but served like any HTML: its safe form now rather than on every read.
      safeHtml: rendered.html ? sanitizeMailHtml(rendered.html) : null,
      messageId,
      inReplyTo: thread.inReplyTo,
      references: thread.references,
    });
    await this.outbox.enqueue(manager, {
      kind: 'auto_reply',
      from,
      to,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      messageId,
      inReplyTo: thread.inReplyTo,
      references: thread.references,
      autoReply: true,
      messageRowId: message.id,
    });
    await this.requests.addEvent(manager, requestId, {
      type: 'auto_reply_sent',
      actor: 'system',
      data: { event, messageId: message.id },
    });
    return true;
  }

  /**
   * Why an auto-reply to `to` must not go out, or null. The mailbox's own address and
   * SUPPORT_ADDRESS are never answered (mail between two of our mailboxes is already ignored at
   * ingest by the loop guard, which knows every mailbox address).
   */
  private async suppressionReason(
    manager: EntityManager,
    to: string,
    blocked: boolean,
    from: MailIdentity,
  ): Promise<string | null> {
    if (to === this.config.mail.supportAddress || to === from.address) return 'our own address';
    if (NEVER_AUTO_REPLY.test(to)) return 'automatic or no-reply address';
    if (blocked) return 'customer is blocked';
    const limit = this.config.mail.autoReplyLimitPerHour;
    const recent = await this.outbox.countAutoRepliesSince(manager, to, new Date(Date.now() - 3600_000));
    if (recent >= limit) return `rate limit: ${recent} auto-replies to this address in the last hour (limit ${limit})`;
    return null;
  }

  /** In-Reply-To and References for a mail we send on this request: under the customer's latest message. */
  private async threadOf(
    manager: EntityManager,
    requestId: number,
  ): Promise<{ inReplyTo: string | null; references: string[] }> {
    const parent = await this.messages.latestInbound(manager, requestId);
    if (!parent) return { inReplyTo: null, references: [] };
    const references = [...parent.references.filter((r) => r !== parent.messageId), parent.messageId];
    return { inReplyTo: parent.messageId, references };
  }

  private async mustFind(manager: EntityManager, requestId: number): Promise<ServiceRequest> {
    const request = await this.requests.findById(requestId, manager);
    if (!request) throw new NotFoundException(`request ${requestId} does not exist`);
    return request;
  }
}
