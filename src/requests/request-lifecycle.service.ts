import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuthOperator } from '../common/auth.decorators';
import type { AppConfig } from '../config/config';
import type { AssignmentMode } from '../config/config-variables';
import { APP_CONFIG } from '../config/config.module';
import { OperatorsService } from '../operators/operators.service';
import { WebhooksService } from '../webhooks/webhooks.service';
import { effectiveCapacity } from './assignment-picker';
import { ServiceRequest } from './request.entity';
import { canSeeRequest, type RequestActor } from './request-scope';
import { RequestsRepository, type RequestsStore } from './requests.repository';
import { RequestsService } from './requests.service';

/**
 * The customer's automatic answers, as the lifecycle sends them (in the caller's transaction;
 * whether a mail was queued). ConversationService in src/messages/ writes them: the messages module
 * depends on this one, not the other way round, so MessagesModule hands it over at start
 * (`useAutoReplies`) instead of this module importing it.
 */
export interface LifecycleAutoReplies {
  sendAutoReply(
    manager: EntityManager,
    requestId: number,
    event: 'assigned' | 'closed',
    vars?: { operatorName?: string },
  ): Promise<boolean>;
}

/** What the lifecycle reads and writes through RequestsService: the request itself and its history. */
export type RequestRecords = Pick<RequestsService, 'findById' | 'addEvent'>;

/**
 * What the lifecycle changes through RequestsRepository: in one transaction, the request's row lock,
 * its conditional status change and its assignee, and the count of what an assignee holds.
 */
export type LifecycleStore = Pick<
  RequestsStore,
  'transaction' | 'lockForUpdate' | 'transition' | 'countInProgress' | 'setAssignee'
>;

/** What the lifecycle needs of the operators module: who an assignee is, and their row lock (with their capacity). */
export type LifecycleOperators = Pick<OperatorsService, 'activeIdentity' | 'lockForUpdate'>;

/** Who gives a request: an operator (the actor), or automatic assignment in a mode (AutoAssignmentService). */
type AssignedBy =
  | { kind: 'operator'; actor: AuthOperator }
  | { kind: 'auto'; mode: Exclude<AssignmentMode, 'off'>; reassignment: boolean };

/**
 * A request's lifecycle: taking it (`new` -> `in_progress`), handing it to another operator,
 * putting it back in the queue and closing it. Each change, its event, the customer's mail and the
 * webhook it causes commit together.
 */
@Injectable()
export class RequestLifecycleService {
  private autoReplies: LifecycleAutoReplies | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RequestsRepository) private readonly store: LifecycleStore,
    @Inject(RequestsService) private readonly requests: RequestRecords,
    @Inject(OperatorsService) private readonly operators: LifecycleOperators,
    @Inject(WebhooksService) private readonly webhooks: Pick<WebhooksService, 'enqueue'>,
  ) {}

  /** Who writes the assignment and closing mails (MessagesModule calls this once, at start). */
  useAutoReplies(autoReplies: LifecycleAutoReplies): void {
    this.autoReplies = autoReplies;
  }

  /**
   * `new` -> `in_progress`, assigned to the actor (or, for admins, to `operatorId`); mails the customer.
   * An admin naming `operatorId` for a request in progress reassigns it instead (see reassign).
   * 409 when the assignee already holds OPERATOR_MAX_OPEN requests in progress; 400 when the
   * assignee could not see the request (an operator in other groups); 404 for a request the actor
   * cannot see, as for a missing one.
   */
  async assign(requestId: number, actor: AuthOperator, operatorId?: number): Promise<ServiceRequest> {
    const assignee = operatorId ?? actor.id;
    if (assignee !== actor.id && actor.role !== 'admin') {
      throw new ForbiddenException('only an admin can assign a request to someone else');
    }
    const operator = assignee === actor.id ? actor : await this.operators.activeIdentity(assignee);
    if (!operator) throw new BadRequestException(`operatorId ${assignee} is not an active operator`);
    await this.store.transaction(async (manager) => {
      const request = await this.mustFind(manager, requestId, actor);
      if (assignee !== actor.id && !canSeeRequest(operator, request.groupId)) {
        throw new BadRequestException(
          `operator ${assignee} works in other groups: they cannot see request ${requestId}` +
            (request.groupId === null ? ' (in no group)' : ` (group ${request.groupId})`),
        );
      }
      const current = await this.store.lockForUpdate(requestId, manager);
      if (actor.role === 'admin' && operatorId !== undefined && current?.status === 'in_progress') {
        await this.reassignLocked(manager, request, current.operatorId, { id: assignee, name: operator.name }, actor);
        return;
      }
      if (current?.status === 'new') await this.checkCapacity(manager, assignee);
      if (
        !(await this.takeLocked(manager, request, { id: assignee, name: operator.name }, { kind: 'operator', actor }))
      ) {
        throw new ConflictException(`request ${requestId} is ${request.status}, not new: it cannot be taken`);
      }
    });
    return (await this.requests.findById(requestId))!;
  }

  /**
   * Automatic assignment of a request the caller claimed (its row locked) to an operator whose row
   * the caller locked and whose load it counted under that lock (AutoAssignmentService): the same
   * `new` -> `in_progress` change, `assigned` event (by the system, `data.auto` and `data.mode`),
   * mail and `request.assigned` webhook as a take. A request that was assigned before (handed back
   * to the pool) is mailed as a reassignment is: only with REASSIGN_NOTIFY. False when the request
   * is no longer new.
   */
  autoAssign(
    manager: EntityManager,
    request: Pick<ServiceRequest, 'id' | 'subject'> & { assignedBefore: boolean },
    operator: { id: number; name: string },
    mode: Exclude<AssignmentMode, 'off'>,
  ): Promise<boolean> {
    return this.takeLocked(manager, request, operator, { kind: 'auto', mode, reassignment: request.assignedBefore });
  }

  /**
   * An operator became unavailable: their request in progress (row locked by the caller) goes back to
   * `new`, unassigned, with an `unassigned` event by the system (`data.reason: 'unavailable'`), no
   * mail. False when it is no longer theirs in progress.
   */
  async releaseToPool(manager: EntityManager, requestId: number, fromOperatorId: number): Promise<boolean> {
    const current = await this.store.lockForUpdate(requestId, manager);
    if (current?.status !== 'in_progress' || current.operatorId !== fromOperatorId) return false;
    if (!(await this.store.setAssignee(requestId, null, manager))) return false;
    await this.requests.addEvent(manager, requestId, {
      type: 'unassigned',
      actor: 'system',
      data: { fromOperatorId, reason: 'unavailable' },
    });
    return true;
  }

  /** Admins: `in_progress` -> `new`, the assignee cleared; an `unassigned` event, no mail. 409 from any other state. */
  async unassign(requestId: number, actor: AuthOperator): Promise<ServiceRequest> {
    await this.store.transaction(async (manager) => {
      await this.mustFind(manager, requestId, actor);
      const current = await this.store.lockForUpdate(requestId, manager);
      if (!current) throw new NotFoundException(`request ${requestId} does not exist`);
      if (current.status !== 'in_progress' || !(await this.store.setAssignee(requestId, null, manager))) {
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

  /** `in_progress` -> `closed`; mails the customer. */
  async close(requestId: number, actor: AuthOperator): Promise<ServiceRequest> {
    await this.store.transaction(async (manager) => {
      const request = await this.mustFind(manager, requestId, actor);
      if (!(await this.store.transition(requestId, 'in_progress', 'closed', null, manager))) {
        throw new ConflictException(
          `request ${requestId} is ${request.status}: only a request in progress can be closed`,
        );
      }
      await this.requests.addEvent(manager, requestId, { type: 'closed', actor: 'operator', operatorId: actor.id });
      await this.mail().sendAutoReply(manager, requestId, 'closed', { operatorName: actor.name });
      await this.webhooks.enqueue(manager, 'request.closed', {
        requestId,
        subject: request.subject,
        closedBy: actor.id,
        operatorName: actor.name,
      });
    });
    return (await this.requests.findById(requestId))!;
  }

  /**
   * `new` -> `in_progress` for `assignee` (row locked and capacity checked by the caller): the
   * `assigned` event, the customer's assignment mail, the `request.assigned` webhook. False (nothing
   * written) when the request is not new.
   */
  private async takeLocked(
    manager: EntityManager,
    request: Pick<ServiceRequest, 'id' | 'subject'>,
    assignee: { id: number; name: string },
    by: AssignedBy,
  ): Promise<boolean> {
    if (!(await this.store.transition(request.id, 'new', 'in_progress', assignee.id, manager))) return false;
    const auto = by.kind === 'auto' ? { auto: true, mode: by.mode } : {};
    await this.requests.addEvent(manager, request.id, {
      type: 'assigned',
      actor: by.kind === 'auto' ? 'system' : 'operator',
      ...(by.kind === 'operator' ? { operatorId: by.actor.id } : {}),
      data: { operatorId: assignee.id, operatorName: assignee.name, ...auto },
    });
    if (by.kind === 'operator' || !by.reassignment || this.config.assignment.reassignNotify)
      await this.mail().sendAutoReply(manager, request.id, 'assigned', { operatorName: assignee.name });
    await this.webhooks.enqueue(manager, 'request.assigned', {
      requestId: request.id,
      subject: request.subject,
      operatorId: assignee.id,
      operatorName: assignee.name,
      assignedBy: by.kind === 'operator' ? by.actor.id : null,
      ...auto,
    });
    return true;
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
    if (!(await this.store.setAssignee(request.id, to.id, manager))) {
      throw new ConflictException(`request ${request.id} is not in progress: it cannot be reassigned`);
    }
    await this.requests.addEvent(manager, request.id, {
      type: 'reassigned',
      actor: 'operator',
      operatorId: actor.id,
      data: { fromOperatorId, operatorId: to.id, operatorName: to.name },
    });
    if (this.config.assignment.reassignNotify)
      await this.mail().sendAutoReply(manager, request.id, 'assigned', { operatorName: to.name });
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
   * 409 when the operator already holds as many requests in progress as their capacity, else
   * OPERATOR_MAX_OPEN, allows. The operator's row lock makes concurrent assignments to one operator
   * (by hand or automatic) count one after the other.
   */
  private async checkCapacity(manager: EntityManager, operatorId: number): Promise<void> {
    const globalMax = this.config.assignment.operatorMaxOpen;
    const own = await this.operators.lockForUpdate(manager, operatorId);
    const max = effectiveCapacity(own, globalMax);
    if (max === null) return;
    const open = await this.store.countInProgress(operatorId, manager);
    if (open >= max) {
      const limit = own !== null && own !== undefined ? 'their capacity' : 'OPERATOR_MAX_OPEN';
      throw new ConflictException(
        `operator ${operatorId} already has ${open} requests in progress (the limit, ${limit}, is ${max})`,
      );
    }
  }

  /** The request, if the actor may see it; else 404, as for a missing one (request-scope.ts). */
  private async mustFind(manager: EntityManager, requestId: number, actor: RequestActor): Promise<ServiceRequest> {
    const request = await this.requests.findById(requestId, manager);
    if (!request || !canSeeRequest(actor, request.groupId)) {
      throw new NotFoundException(`request ${requestId} does not exist`);
    }
    return request;
  }

  private mail(): LifecycleAutoReplies {
    if (!this.autoReplies) throw new Error('no auto-reply sender: MessagesModule registers one at start');
    return this.autoReplies;
  }
}
