import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuthOperator } from '../common/auth.decorators';
import { baseSubject, MAX_SUBJECT_LENGTH, subjectOrNone } from '../common/subject';
import { WebhooksService } from '../webhooks/webhooks.service';
import { RequestMergeRepository, type RequestMergeStore } from './request-merge.repository';
import type { ServiceRequest } from './request.entity';
import { canSeeRequest } from './request-scope';
import { RequestsService } from './requests.service';


/** How many message ids a `split` event lists (the count is always there). */
const MAX_EVENT_MESSAGE_IDS = 1000;

/** How often a merge or split is tried when PostgreSQL breaks a deadlock or a serialization conflict. */
const ATTEMPTS = 3;

/** PostgreSQL's deadlock_detected and serialization_failure: the transaction may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);

/** What merge and split need of RequestsService: who may see a request, its history, due dates. */
export type MergeRequests = Pick<RequestsService, 'findById' | 'findVisible' | 'addEvent' | 'dueDates'>;

/** The body of a split: the message it starts at, and whether the later ones go with it. */
export interface SplitOrder {
  messageId: number;
  following?: boolean;
}

/**
 * Merging a request into another (a duplicate, or the same matter from another mailbox) and
 * splitting a request off another (a new matter in an old conversation). Each is one transaction
 * that locks the requests it changes in id order, moves messages and renumbers the conversations
 * without gaps, and writes an event on both requests. Neither mails the customer.
 */
@Injectable()
export class RequestMergeService {
  constructor(
    @Inject(RequestMergeRepository) private readonly store: RequestMergeStore,
    @Inject(RequestsService) private readonly requests: MergeRequests,
    @Inject(WebhooksService) private readonly webhooks: Pick<WebhooksService, 'enqueue'>,
  ) {}

  /**
   * Merges request `sourceId` into `targetId`: its messages (with their attachments), history,
   * side threads and participants move to the target, its customer becomes a participant of the
   * target when another person, and it is closed with mergedIntoId (no closing mail). 404 when
   * the actor cannot see either; 400 for the same request; 409 when the source is merged already
   * or the target is closed (or merged). A closed source may be merged (a duplicate closed first).
   * Returns the target.
   */
  async merge(sourceId: number, targetId: number, actor: AuthOperator): Promise<ServiceRequest> {
    if (sourceId === targetId) throw new BadRequestException('a request cannot be merged into itself');
    for (const id of [sourceId, targetId]) {
      if (!(await this.requests.findVisible(id, actor))) throw new NotFoundException(`request ${id} does not exist`);
    }
    await this.retrying(async (manager) => {
      const locked = await this.store.lockRequests(
        [sourceId, targetId].sort((a, b) => a - b),
        manager,
      );
      const source = locked.find((r) => r.id === sourceId);
      const target = locked.find((r) => r.id === targetId);
      if (!source) throw new NotFoundException(`request ${sourceId} does not exist`);
      if (!target) throw new NotFoundException(`request ${targetId} does not exist`);
      if (source.mergedIntoId !== null) {
        throw new ConflictException(`request ${sourceId} is already merged into request ${source.mergedIntoId}`);
      }
      if (target.mergedIntoId !== null) {
        throw new ConflictException(
          `request ${targetId} is merged into request ${target.mergedIntoId}: merge into that one`,
        );
      }
      if (target.status === 'closed') {
        throw new ConflictException(`request ${targetId} is closed: merge into an open request`);
      }
      const moved = await this.store.merge(sourceId, targetId, manager);
      await this.requests.addEvent(manager, targetId, {
        type: 'merged',
        actor: 'operator',
        operatorId: actor.id,
        data: { sourceId, messages: moved },
      });
      await this.requests.addEvent(manager, sourceId, {
        type: 'merged_into',
        actor: 'operator',
        operatorId: actor.id,
        data: { targetId, messages: moved },
      });
      await this.webhooks.enqueue(manager, 'request.merged', {
        requestId: sourceId,
        intoId: targetId,
        messages: moved,
        mergedBy: actor.id,
      });
    });
    return (await this.requests.findById(targetId))!;
  }

  /**
   * Splits a new request off `sourceId` holding the customer message `messageId` (with
   * `following`, every later message too): same customer, mailbox and group, status new, the
   * message's subject without reply prefixes, SLA due dates as for a new request, splitFromId set.
   * No mail to the customer. 404 when the actor cannot see the request; 400 when the message is
   * not a customer message of this request; 409 when the request is merged or the split would
   * leave it no message. Returns the new request.
   */
  async split(sourceId: number, order: SplitOrder, actor: AuthOperator): Promise<ServiceRequest> {
    if (!(await this.requests.findVisible(sourceId, actor))) {
      throw new NotFoundException(`request ${sourceId} does not exist`);
    }
    const newId = await this.retrying(async (manager) => {
      const [source] = await this.store.lockRequests([sourceId], manager);
      if (!source || !canSeeRequest(actor, source.groupId)) {
        throw new NotFoundException(`request ${sourceId} does not exist`);
      }
      if (source.mergedIntoId !== null) {
        throw new ConflictException(`request ${sourceId} is merged into request ${source.mergedIntoId}`);
      }
      const point = await this.store.findMessage(sourceId, order.messageId, manager);
      if (!point) throw new BadRequestException(`message ${order.messageId} is not a message of request ${sourceId}`);
      if (point.kind !== 'customer') {
        throw new BadRequestException(
          `message ${order.messageId} is a ${point.kind} message: a split starts at a customer message`,
        );
      }
      const { ids, total } = await this.store.splitMessageIds(sourceId, point, order.following ?? false, manager);
      if (ids.length >= total) {
        throw new ConflictException(`request ${sourceId} would keep no message: a split must leave at least one`);
      }
      const subject = subjectOrNone(baseSubject(point.subject)).slice(0, MAX_SUBJECT_LENGTH);
      const opened = await this.store.split(sourceId, subject, ids, manager);
      const due = this.requests.dueDates(opened.createdAt);
      if (due.firstResponseDueAt || due.resolutionDueAt) {
        await this.store.writeDueDates(opened.id, due.firstResponseDueAt, due.resolutionDueAt, manager);
      }
      const listed = ids.slice(0, MAX_EVENT_MESSAGE_IDS);
      await this.requests.addEvent(manager, sourceId, {
        type: 'split',
        actor: 'operator',
        operatorId: actor.id,
        data: { newRequestId: opened.id, messageIds: listed, messages: ids.length },
      });
      await this.requests.addEvent(manager, opened.id, {
        type: 'split_from',
        actor: 'operator',
        operatorId: actor.id,
        data: { sourceId, messageIds: listed, messages: ids.length },
      });
      return opened.id;
    });
    return (await this.requests.findById(newId))!;
  }

  /** Runs `work` in a transaction, again (up to ATTEMPTS times) when PostgreSQL aborts it for a deadlock. */
  private async retrying<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.transaction(work);
      } catch (error) {
        const code =
          (error as { code?: unknown; driverError?: { code?: unknown } }).driverError?.code ??
          (error as { code?: unknown }).code;
        if (attempt >= ATTEMPTS || typeof code !== 'string' || !RETRYABLE.has(code)) throw error;
      }
    }
  }

  /**
   * In the caller's transaction, after messages were deleted from the requests `requestIds`
   * (locked by the caller: a customer's erasure takes their messages out of others' requests):
   * each conversation numbered 1..n again, its last number and search text from what is left.
   */
  renumberAfterRemoval(requestIds: number[], manager: EntityManager): Promise<void> {
    return this.store.renumberAfterRemoval(requestIds, manager);
  }
}
