import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { MAX_SUBJECT_LENGTH } from '../common/subject';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { afterCommit } from '../database/after-commit';
import { addBusinessMinutes } from '../sla/business-hours';
import { Customer } from './customer.entity';
import { RequestEvent } from './request-event.entity';
import { ServiceRequest } from './request.entity';
import type { RequestStatus } from './request.entity';
import { canSeeRequest, type RequestActor, requestScope } from './request-scope';
import type { Priority } from './tags';
import {
  type DueDateChanges,
  type NewEvent,
  type RequestRoute,
  RequestsRepository,
  type RequestsStore,
} from './requests.repository';

export type { NewEvent, RequestRoute } from './requests.repository';

/** How many tags `GET /tags` lists at most (the most used). */
export const MAX_TAG_COUNTS = 500;

/** How many merges on mail that names a merged request is followed (a chain A -> B -> C...): bounded work per mail. */
export const MAX_MERGE_HOPS = 10;

/**
 * What these rules need of RequestsRepository: all but the status and assignee changes of a
 * request's lifecycle, which RequestLifecycleService makes.
 */
export type RequestRulesStore = Omit<RequestsStore, 'transition' | 'countInProgress' | 'setAssignee'>;

/**
 * Requests and their customers and history: the one service other modules call. Methods that take
 * an EntityManager run inside the caller's transaction; storage is RequestsRepository's. Taking,
 * handing over, putting back and closing a request are RequestLifecycleService's.
 */
@Injectable()
export class RequestsService {
  private opened: (() => void) | null = null;

  constructor(
    @Inject(RequestsRepository) private readonly requests: RequestRulesStore,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'sla'>,
  ) {}

  /**
   * Called once a transaction that opened a request commits (once per transaction, never on a
   * rollback): the automatic assigner (AutoAssignmentService) looks at once, in its own short
   * transaction, instead of lengthening the one that opened it.
   */
  onRequestOpened(listener: () => void): void {
    this.opened = listener;
  }

  /**
   * SLA due dates for a request of `priority` created at `createdAt`: the priority's targets (the
   * default ones where its own are not configured) counted in business time.
   */
  dueDates(
    createdAt: Date,
    priority: Priority = 'normal',
  ): { firstResponseDueAt: Date | null; resolutionDueAt: Date | null } {
    const { businessHours, timeZone, byPriority } = this.config.sla;
    const own = priority === 'normal' ? undefined : byPriority?.[priority];
    const firstResponseMinutes = own?.firstResponseMinutes ?? this.config.sla.firstResponseMinutes;
    const resolutionMinutes = own?.resolutionMinutes ?? this.config.sla.resolutionMinutes;
    const due = (minutes: number) =>
      minutes > 0 ? addBusinessMinutes(createdAt, minutes, businessHours, timeZone) : null;
    return { firstResponseDueAt: due(firstResponseMinutes), resolutionDueAt: due(resolutionMinutes) };
  }

  /**
   * Sets the priority of a request and writes a `priority_changed` event ({ from, to }); the same
   * priority changes nothing. The due dates are computed again for the new priority from the
   * request's creation time, unless an admin overrode them (PATCH /requests/:id/sla: then they
   * stay, and the event says `dueDatesKept`). Null when there is no such request.
   */
  async setPriority(
    requestId: number,
    priority: Priority,
    operatorId: number | null,
  ): Promise<{ changed: boolean } | null> {
    return this.requests.transaction(async (manager) => {
      const set = await this.requests.setPriority(requestId, priority, manager);
      if (!set) return null;
      if (set.previous === priority) return { changed: false };
      const kept = await this.requests.hasDueOverride(requestId, manager);
      if (!kept) {
        const due = this.dueDates(set.createdAt, priority);
        await this.requests.writeDueDates(requestId, due.firstResponseDueAt, due.resolutionDueAt, manager);
      }
      await this.addEvent(manager, requestId, {
        type: 'priority_changed',
        actor: operatorId === null ? 'system' : 'operator',
        operatorId,
        data: { from: set.previous, to: priority, ...(kept ? { dueDatesKept: true } : {}) },
      });
      return { changed: true };
    });
  }

  /**
   * The tags in use and how many requests carry each: requests of `statuses` the actor sees (an
   * operator in groups: only those groups'), most used first, at most MAX_TAG_COUNTS tags.
   */
  tagCounts(statuses: readonly RequestStatus[], actor: RequestActor): Promise<Array<{ tag: string; count: number }>> {
    return this.requests.tagCounts(statuses, requestScope(actor) ?? undefined, MAX_TAG_COUNTS);
  }

  /**
   * Replaces the tags of a request with `tags` (normalized already: normalizeTags) and writes a
   * `tags_changed` event ({ added, removed }) when they differ. Null when there is no such request.
   */
  async setTags(requestId: number, tags: string[], operatorId: number): Promise<{ changed: boolean } | null> {
    return this.requests.transaction(async (manager) => {
      const set = await this.requests.setTags(requestId, tags, manager);
      if (!set) return null;
      const before = new Set(set.previous);
      const after = new Set(tags);
      const added = tags.filter((t) => !before.has(t));
      const removed = set.previous.filter((t) => !after.has(t));
      if (added.length === 0 && removed.length === 0) return { changed: false };
      await this.addEvent(manager, requestId, {
        type: 'tags_changed',
        actor: 'operator',
        operatorId,
        data: { added, removed },
      });
      return { changed: true };
    });
  }

  /** One request with its customer and operator, or null (in the caller's transaction when given). */
  findById(id: number, manager?: EntityManager): Promise<ServiceRequest | null> {
    return this.requests.findById(id, manager);
  }

  /**
   * One request the actor may see (request-scope.ts), or null: missing and out of the actor's
   * groups answer alike, so a request id leaks nothing.
   */
  async findVisible(id: number, actor: RequestActor, manager?: EntityManager): Promise<ServiceRequest | null> {
    const request = await this.requests.findById(id, manager);
    return request && canSeeRequest(actor, request.groupId) ? request : null;
  }

  /** The request history, oldest first. */
  listEvents(requestId: number): Promise<RequestEvent[]> {
    return this.requests.listEvents(requestId);
  }

  /** Writes one entry of the request's history in the caller's transaction. */
  addEvent(manager: EntityManager, requestId: number, event: NewEvent): Promise<void> {
    return this.requests.insertEvent(requestId, event, manager);
  }

  /**
   * The customer with this (lower-case) address, created when new; a known name is kept, and a
   * known locale too (`locale`, the language the mail states, only fills an unknown one).
   */
  upsertCustomer(
    manager: EntityManager,
    email: string,
    name: string | null,
    locale?: string | null,
  ): Promise<Customer> {
    return this.requests.upsertCustomer(email, name || null, manager, locale ?? null);
  }

  /**
   * The customer's open request (status new or in_progress), locked for this transaction: in
   * `mailboxId` when given (null: the default mailbox), else in any mailbox.
   */
  findOpenForCustomer(manager: EntityManager, customerId: number, mailboxId?: number | null): Promise<number | null> {
    return this.requests.findOpenForCustomer(customerId, manager, mailboxId);
  }

  /**
   * The customer's open request, opening one when there is none. With a `route`, the open request
   * of the route's mailbox (a customer writing to billing@ while a support@ request is open gets a
   * new billing request), opened in its mailbox and group; without one, any open request, or a new
   * one in the default mailbox and no group (as before mailboxes). Concurrent callers for one
   * customer and mailbox get the same request: the partial unique index decides, and the loser
   * reads the winner's.
   */
  async openRequestFor(
    manager: EntityManager,
    customerId: number,
    subject: string,
    previousRequestId: number | null,
    route?: RequestRoute,
    priority: Priority = 'normal',
  ): Promise<{ id: number; created: boolean }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const existing = await this.findOpenForCustomer(manager, customerId, route?.mailboxId);
      if (existing !== null) return { id: existing, created: false };
      const opened = await this.requests.insertOpen(
        customerId,
        subject.slice(0, MAX_SUBJECT_LENGTH),
        previousRequestId,
        manager,
        route,
        priority,
      );
      if (opened) {
        const due = this.dueDates(opened.createdAt, priority);
        if (due.firstResponseDueAt || due.resolutionDueAt) {
          await this.requests.writeDueDates(opened.id, due.firstResponseDueAt, due.resolutionDueAt, manager);
        }
        if (this.opened) afterCommit(manager, this.opened);
        return { id: opened.id, created: true };
      }
    }
    throw new Error(`could not open a request for customer ${customerId}`);
  }

  /**
   * Changes the SLA due dates of a request (null removes a target) and writes a `sla_changed` event.
   * A target moved into the future may be missed, and reported, again.
   */
  async setDueDates(requestId: number, changes: DueDateChanges, operatorId: number): Promise<boolean> {
    return this.requests.transaction(async (manager) => {
      if (!(await this.requests.lockForUpdate(requestId, manager))) return false;
      const given: DueDateChanges = {};
      const data: Record<string, unknown> = {};
      for (const key of ['firstResponseDueAt', 'resolutionDueAt'] as const) {
        const value = changes[key];
        if (value === undefined) continue;
        given[key] = value;
        data[key] = value ? value.toISOString() : null;
      }
      await this.requests.overrideDueDates(requestId, given, manager);
      await this.addEvent(manager, requestId, { type: 'sla_changed', actor: 'operator', operatorId, data });
      return true;
    });
  }

  /**
   * Marks every missed SLA target of open requests, each exactly once: the conditional UPDATE (row
   * locks, re-checked condition) decides, so concurrent checks on several instances never write two
   * `sla_breached` events for one target. Returns how many breaches were recorded.
   */
  async recordBreaches(batch = 500): Promise<number> {
    let total = 0;
    for (const target of ['first_response', 'resolution'] as const) {
      total += await this.requests.markBreaches(target, batch);
    }
    return total;
  }

  /**
   * The customer's rating of a closed request: recorded, or changed by a later click; a repeated
   * click changes nothing. `missing` when the request does not exist or is not closed.
   */
  async recordRating(requestId: number, rating: number): Promise<'recorded' | 'unchanged' | 'missing'> {
    return this.requests.transaction(async (manager) => {
      const changed = await this.requests.rate(requestId, rating, manager);
      if (!changed) return (await this.requests.isClosed(requestId, manager)) ? 'unchanged' : 'missing';
      await this.addEvent(manager, requestId, {
        type: 'rated',
        actor: 'customer',
        data: { rating, previous: changed.previous },
      });
      return 'recorded';
    });
  }

  /**
   * The requests `requestIds` name now, in the same order, each once: a merged request is replaced
   * by the request it was merged into (following up to MAX_MERGE_HOPS merges); unknown ids stay.
   * Threading maps its candidates through this, so mail naming a merged request lands on its target.
   */
  async followMerges(manager: EntityManager, requestIds: readonly number[]): Promise<number[]> {
    const unique = [...new Set(requestIds)];
    const ends = await this.requests.followMerges(unique, MAX_MERGE_HOPS, manager);
    return [...new Set(unique.map((id) => ends.get(id) ?? id))];
  }

  /** Id and status of a request for the given customer or conversation participant, or null. */
  findForParticipant(
    manager: EntityManager,
    requestId: number,
    address: string,
  ): Promise<{ id: number; status: ServiceRequest['status']; customerId: number } | null> {
    return this.requests.findForParticipant(requestId, address, manager);
  }
}
