import {
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  OnApplicationBootstrap,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import type { AuthOperator } from '../common/auth.decorators';
import { DispatchLoop } from '../common/dispatch-loop';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { afterCommit } from '../database/after-commit';
import { GroupsService } from '../groups/groups.service';
import type { Operator } from '../operators/operator.entity';
import { OperatorsService } from '../operators/operators.service';
import { pickOperators } from './assignment-picker';
import { AutoAssignmentRepository, type AutoAssignmentStore } from './auto-assignment.repository';
import { RequestLifecycleService } from './request-lifecycle.service';
import { RequestsService } from './requests.service';

/** Requests one transaction assigns at most: the scope's lock is held briefly, the next batch follows. */
export const ASSIGN_BATCH = 50;

/** What the assigner needs of the lifecycle: the assignment and hand-back paths every assignment takes. */
export type AssignerLifecycle = Pick<RequestLifecycleService, 'autoAssign' | 'releaseToPool'>;

/** What the assigner needs of the operators module. */
export type AssignerOperators = Pick<OperatorsService, 'setAvailable' | 'get' | 'onCapacityChange'>;

/**
 * Automatic assignment (docs/assignment.md). A group's new requests (or, with AUTO_ASSIGNMENT,
 * those in no group) go to one of its active, available operators under their capacity, by round
 * robin or least loaded. The work runs in the background, in its own short transactions, one per
 * scope and batch: woken when a transaction that opened a request commits (never inside it: the
 * ingest transaction stays as it was), when a group's mode or an operator's availability or
 * capacity changes here, and every AUTO_ASSIGNMENT_SWEEP_SECONDS (what another instance changed,
 * what a crash left between a commit and its assignment, requests that waited for room).
 *
 * Safe with several instances: the scope's row lock serializes its assigners, operator rows are
 * locked (by id) before their loads are counted, so no one goes over capacity, also against takes by
 * hand (RequestLifecycleService locks the operator row too), and requests are claimed FOR UPDATE
 * SKIP LOCKED then moved from `new` conditionally, so none is assigned twice.
 */
@Injectable()
export class AutoAssignmentService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AutoAssignmentService.name);
  private readonly loop: DispatchLoop;
  /**
   * The last round found no scope switched on: openings do not wake the loop (at ingest rates
   * that is a query per debounce for nothing) until the next sweep or a local change of settings.
   */
  private idle = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AutoAssignmentRepository) private readonly store: AutoAssignmentStore,
    @Inject(RequestLifecycleService) private readonly lifecycle: AssignerLifecycle,
    @Inject(OperatorsService) private readonly operators: AssignerOperators,
    @Inject(RequestsService) private readonly requests: Pick<RequestsService, 'onRequestOpened'>,
    @Inject(GroupsService) private readonly groups: Pick<GroupsService, 'onAssignmentChange'>,
  ) {
    this.loop = new DispatchLoop({
      name: 'auto-assignment',
      pollMs: config.assignment.sweepSeconds * 1000,
      logger: this.logger,
      drain: () => this.assignAll(),
    });
  }

  onModuleInit(): void {
    this.requests.onRequestOpened(() => this.kick());
    this.groups.onAssignmentChange(() => this.wake());
    this.operators.onCapacityChange(() => this.wake());
  }

  onApplicationBootstrap(): void {
    if (this.config.workers) this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  /** A request was opened: a round soon, unless nothing is switched on. */
  kick(): void {
    if (!this.idle) this.loop.kick();
  }

  /** Settings changed: a round soon, whatever the last one found. */
  wake(): void {
    this.idle = false;
    this.loop.kick();
  }

  /** One round now (the sweep's and the tests'): how many requests were assigned. */
  runOnce(): Promise<number> {
    return this.loop.dispatchOnce();
  }

  /**
   * Sets an operator's availability: their own, or anyone's for an admin (403 otherwise; 404 for an
   * unknown operator). Becoming unavailable hands their requests in progress back to the pool in
   * the groups that ask for it (and in no group with AUTO_REASSIGN_WHEN_UNAVAILABLE), in the same
   * transaction: `unassigned` events by the system, no mail; they are then assigned again by their
   * scope's mode. The operator as the API shows them.
   */
  async setAvailability(actor: AuthOperator, operatorId: number, available: boolean): Promise<Operator> {
    if (operatorId !== actor.id && actor.role !== 'admin') {
      throw new ForbiddenException("only an admin can set another operator's availability");
    }
    await this.store.transaction(async (manager) => {
      // The requests first, then the operator's row: the lock order of takes and reassignments,
      // which an assigner (operator rows, then requests SKIP LOCKED) cannot close into a cycle.
      const ids = available
        ? []
        : await this.store.releasable(manager, operatorId, this.config.assignment.reassignWhenUnavailable);
      const was = await this.operators.setAvailable(manager, operatorId, available);
      if (was === null) throw new NotFoundException(`operator ${operatorId} does not exist`);
      if (was && !available) {
        for (const id of ids) await this.lifecycle.releaseToPool(manager, id, operatorId);
      }
      afterCommit(manager, () => this.wake());
    });
    return this.operators.get(operatorId);
  }

  /** A round: every scope switched on, batch after batch until it has nothing left it can assign. */
  private async assignAll(): Promise<number> {
    const scopes: Array<number | null> = await this.store.enabledGroups();
    if (this.config.assignment.autoMode !== 'off') scopes.push(null);
    this.idle = scopes.length === 0;
    let total = 0;
    for (const scope of scopes) {
      for (;;) {
        if (this.loop.isStopped) return total;
        const n = await this.assignBatch(scope);
        total += n;
        if (n < ASSIGN_BATCH) break;
      }
    }
    return total;
  }

  /**
   * One transaction of a scope: its row lock, its candidates locked and counted, as many of its
   * unassigned requests as they have room for claimed (SKIP LOCKED), each assigned through the
   * lifecycle; the round-robin pointer saved. How many were assigned.
   */
  async assignBatch(groupId: number | null): Promise<number> {
    return this.store.transaction(async (manager) => {
      const state = await this.store.lockScope(manager, groupId);
      if (!state) return 0;
      const mode = state.mode ?? this.config.assignment.autoMode;
      if (mode === 'off') return 0;
      const candidates = await this.store.lockCandidates(manager, groupId);
      const globalMax = this.config.assignment.operatorMaxOpen;
      // Picks for a full batch first: how many there is room for bounds what is claimed.
      const room = pickOperators(mode, candidates, state.pointer, ASSIGN_BATCH, globalMax).length;
      if (room === 0) return 0;
      const claimed = await this.store.claimUnassigned(manager, groupId, room);
      if (!claimed.length) return 0;
      const picks = pickOperators(mode, candidates, state.pointer, claimed.length, globalMax);
      let assigned = 0;
      let last: number | null = null;
      for (const [i, request] of claimed.entries()) {
        const operator = picks[i];
        if (!(await this.lifecycle.autoAssign(manager, request, operator, mode))) continue;
        await this.store.markAutoAssigned(manager, operator.id);
        last = operator.id;
        assigned++;
      }
      if (last !== null) await this.store.savePointer(manager, groupId, last);
      return assigned;
    });
  }
}
