import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthOperator } from '../common/auth.decorators';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ratingLinks } from '../feedback/rating-token';
import { OperatorsService } from '../operators/operators.service';
import { OutboxService } from '../outbound-mail/outbox.service';
import { AutoReplyEvent } from '../outbound-mail/outgoing-mail';
import { TemplatesService } from '../outbound-mail/templates.service';
import { ServiceRequest } from '../requests/request.entity';
import { RequestsService } from '../requests/requests.service';
import { WEBHOOK_TEXT_LIMIT } from '../webhooks/webhook-events';
import { WebhooksService } from '../webhooks/webhooks.service';
import { MessagesService, MessageView, NewAttachment } from './messages.service';

/** Addresses that never get an automatic answer (RFC 3834 section 2 and common practice). */
const NEVER_AUTO_REPLY =
  /^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|listserv|majordomo)([+._-].*)?@/i;

/** Strips reply prefixes and our own request tokens, for building our subjects. */
export function baseSubject(subject: string): string {
  let s = subject.replace(/\[#\d+\]/g, ' ');
  for (;;) {
    const next = s.replace(/^\s*((re|fwd?|aw|sv|wg|antw)(\[\d+\])?\s*:\s*)/i, '');
    if (next === s) break;
    s = next;
  }
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * Everything that happens to a request's conversation: taking and closing it, operators writing to
 * the customer, and the automatic answers. Each change and the mail it causes commit together.
 */
@Injectable()
export class ConversationService {
  private readonly logger = new Logger(ConversationService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly requests: RequestsService,
    private readonly messages: MessagesService,
    private readonly operators: OperatorsService,
    private readonly outbox: OutboxService,
    private readonly templates: TemplatesService,
    private readonly webhooks: WebhooksService,
  ) {}

  /**
   * `new` -> `in_progress`, assigned to the actor (or, for admins, to `operatorId`); mails the customer.
   * An admin naming `operatorId` for a request in progress reassigns it instead (see reassign).
   * 409 when the assignee already holds OPERATOR_MAX_OPEN requests in progress.
   */
  async assign(requestId: number, actor: AuthOperator, operatorId?: number): Promise<ServiceRequest> {
    const assignee = operatorId ?? actor.id;
    if (assignee !== actor.id && actor.role !== 'admin') {
      throw new ForbiddenException('only an admin can assign a request to someone else');
    }
    const operator = assignee === actor.id ? actor : await this.operators.activeIdentity(assignee);
    if (!operator) throw new BadRequestException(`operatorId ${assignee} is not an active operator`);
    await this.dataSource.transaction(async (manager) => {
      const request = await this.mustFind(manager, requestId);
      const current = await this.requests.lockForUpdate(manager, requestId);
      if (actor.role === 'admin' && operatorId !== undefined && current?.status === 'in_progress') {
        await this.reassignLocked(manager, request, current.operatorId, { id: assignee, name: operator.name }, actor);
        return;
      }
      if (current?.status === 'new') await this.checkCapacity(manager, assignee);
      if (!(await this.requests.transition(manager, requestId, 'new', 'in_progress', assignee))) {
        throw new ConflictException(`request ${requestId} is ${request.status}, not new: it cannot be taken`);
      }
      await this.requests.addEvent(manager, requestId, {
        type: 'assigned',
        actor: 'operator',
        operatorId: actor.id,
        data: { operatorId: assignee, operatorName: operator.name },
      });
      await this.sendAutoReply(manager, requestId, 'assigned', { operatorName: operator.name });
      await this.webhooks.enqueue(manager, 'request.assigned', {
        requestId,
        subject: request.subject,
        operatorId: assignee,
        operatorName: operator.name,
        assignedBy: actor.id,
      });
    });
    this.outbox.kick();
    return (await this.requests.findById(requestId))!;
  }

  /** Admins: `in_progress` -> `new`, the assignee cleared; an `unassigned` event, no mail. 409 from any other state. */
  async unassign(requestId: number, actor: AuthOperator): Promise<ServiceRequest> {
    await this.dataSource.transaction(async (manager) => {
      const current = await this.requests.lockForUpdate(manager, requestId);
      if (!current) throw new NotFoundException(`request ${requestId} does not exist`);
      if (current.status !== 'in_progress' || !(await this.requests.setAssignee(manager, requestId, null))) {
        throw new ConflictException(
          `request ${requestId} is ${current.status}: only a request in progress can be unassigned`,
        );
      }
      await this.requests.addEvent(manager, requestId, {
        type: 'unassigned',
        actor: 'operator',
        operatorId: actor.id,
        data: { fromOperatorId: current.operatorId },
      });
    });
    return (await this.requests.findById(requestId))!;
  }

  /**
   * Moves a request in progress (row locked by the caller) to another operator: a `reassigned` event;
   * the customer is mailed only with REASSIGN_NOTIFY.
   */
  private async reassignLocked(
    manager: EntityManager,
    request: ServiceRequest,
    fromOperatorId: number | null,
    to: { id: number; name: string },
    actor: AuthOperator,
  ): Promise<void> {
    if (fromOperatorId === to.id)
      throw new ConflictException(`request ${request.id} is already assigned to operator ${to.id}`);
    await this.checkCapacity(manager, to.id);
    if (!(await this.requests.setAssignee(manager, request.id, to.id))) {
      throw new ConflictException(`request ${request.id} is not in progress: it cannot be reassigned`);
    }
    await this.requests.addEvent(manager, request.id, {
      type: 'reassigned',
      actor: 'operator',
      operatorId: actor.id,
      data: { fromOperatorId, operatorId: to.id, operatorName: to.name },
    });
    if (this.config.assignment.reassignNotify)
      await this.sendAutoReply(manager, request.id, 'assigned', { operatorName: to.name });
    await this.webhooks.enqueue(manager, 'request.assigned', {
      requestId: request.id,
      subject: request.subject,
      operatorId: to.id,
      operatorName: to.name,
      assignedBy: actor.id,
      reassignedFrom: fromOperatorId,
    });
  }

  /**
   * 409 when the operator already holds OPERATOR_MAX_OPEN requests in progress. The operator's row
   * lock makes concurrent assignments to one operator count one after the other.
   */
  private async checkCapacity(manager: EntityManager, operatorId: number): Promise<void> {
    const max = this.config.assignment.operatorMaxOpen;
    if (max <= 0) return;
    await manager.query(`SELECT id FROM operators WHERE id = $1 FOR UPDATE`, [operatorId]);
    const open = await this.requests.countInProgress(manager, operatorId);
    if (open >= max) {
      throw new ConflictException(
        `operator ${operatorId} already has ${open} requests in progress (the limit, OPERATOR_MAX_OPEN, is ${max})`,
      );
    }
  }

  /** `in_progress` -> `closed`; mails the customer. */
  async close(requestId: number, actor: AuthOperator): Promise<ServiceRequest> {
    await this.dataSource.transaction(async (manager) => {
      const request = await this.mustFind(manager, requestId);
      if (!(await this.requests.transition(manager, requestId, 'in_progress', 'closed'))) {
        throw new ConflictException(
          `request ${requestId} is ${request.status}: only a request in progress can be closed`,
        );
      }
      await this.requests.addEvent(manager, requestId, { type: 'closed', actor: 'operator', operatorId: actor.id });
      await this.sendAutoReply(manager, requestId, 'closed', { operatorName: actor.name });
      await this.webhooks.enqueue(manager, 'request.closed', {
        requestId,
        subject: request.subject,
        closedBy: actor.id,
        operatorName: actor.name,
      });
    });
    this.outbox.kick();
    return (await this.requests.findById(requestId))!;
  }

  /** An operator writes to the customer: stored, and emailed in the customer's thread. */
  async postOperatorMessage(
    requestId: number,
    actor: AuthOperator,
    body: { text: string; html?: string | null; attachments?: NewAttachment[] },
  ): Promise<MessageView> {
    const messageRowId = await this.dataSource.transaction(async (manager) => {
      const request = await this.mustFind(manager, requestId);
      if (request.status === 'closed') throw new ConflictException(`request ${requestId} is closed`);
      const to = request.customer!.email;
      const thread = await this.threadOf(manager, requestId);
      const messageId = this.outbox.newMessageId();
      const subject = `Re: [#${requestId}] ${baseSubject(request.subject)}`.trim();
      const message = await this.messages.append(manager, {
        requestId,
        direction: 'out',
        kind: 'operator',
        operatorId: actor.id,
        fromAddress: this.config.mail.supportAddress,
        fromName: actor.name,
        to: [to],
        subject,
        text: body.text,
        html: body.html ?? null,
        messageId,
        inReplyTo: thread.inReplyTo,
        references: thread.references,
        attachments: body.attachments,
        firstResponse: true,
      });
      await this.outbox.enqueue(manager, {
        kind: 'operator',
        to,
        subject,
        text: body.text,
        html: body.html ?? null,
        messageId,
        inReplyTo: thread.inReplyTo,
        references: thread.references,
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
        subject,
        text: body.text.slice(0, WEBHOOK_TEXT_LIMIT),
        attachments: (body.attachments ?? []).map((a) => a.filename),
      });
      return message.id;
    });
    this.outbox.kick();
    return this.messages.view(messageRowId);
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
    const reason = await this.suppressionReason(manager, to, customer.blocked);
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
      supportName: this.config.mail.supportName,
      supportAddress: this.config.mail.supportAddress,
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
      fromAddress: this.config.mail.supportAddress,
      fromName: this.config.mail.supportName,
      to: [to],
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      messageId,
      inReplyTo: thread.inReplyTo,
      references: thread.references,
    });
    await this.outbox.enqueue(manager, {
      kind: 'auto_reply',
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

  private async suppressionReason(manager: EntityManager, to: string, blocked: boolean): Promise<string | null> {
    if (to === this.config.mail.supportAddress) return 'our own address';
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
