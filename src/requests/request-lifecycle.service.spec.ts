import { BadRequestException, ConflictException, ForbiddenException, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { MemoryDesk } from '../../test/fakes/memory-desk';
import type { AuthOperator } from '../common/auth.decorators';
import { loadConfig } from '../config/config';
import { type LifecycleAutoReplies, RequestLifecycleService } from './request-lifecycle.service';

const ADMIN: AuthOperator = { id: 1, email: 'ada@desk.example', name: 'Ada', role: 'admin', groupIds: [] };
const GRACE: AuthOperator = { id: 2, email: 'grace@desk.example', name: 'Grace', role: 'operator', groupIds: [] };
const LINUS: AuthOperator = { id: 3, email: 'linus@desk.example', name: 'Linus', role: 'operator', groupIds: [] };

/** The automatic answers the lifecycle asked for (ConversationService writes them in the app). */
class RecordedAutoReplies implements LifecycleAutoReplies {
  sent: Array<{ requestId: number; event: string; operatorName?: string }> = [];
  sendAutoReply(
    _manager: EntityManager,
    requestId: number,
    event: 'assigned' | 'closed',
    vars: { operatorName?: string } = {},
  ): Promise<boolean> {
    this.sent.push({ requestId, event, operatorName: vars.operatorName });
    return Promise.resolve(true);
  }
}

describe('RequestLifecycleService rules', () => {
  let desk: MemoryDesk;
  let mail: RecordedAutoReplies;

  function lifecycle(env: Record<string, string> = {}): RequestLifecycleService {
    const service = new RequestLifecycleService(loadConfig(env), desk, desk, desk.operatorsService, desk.webhooks);
    service.useAutoReplies(mail);
    return service;
  }

  beforeEach(() => {
    desk = new MemoryDesk();
    mail = new RecordedAutoReplies();
    for (const o of [ADMIN, GRACE, LINUS]) desk.addOperator(o.id, o.name, o.role);
  });

  describe('assign', () => {
    it('gives a new request to the operator who takes it: an event, the assignment mail, a webhook', async () => {
      desk.addRequest({ id: 10, subject: 'Printer' });
      const request = await lifecycle().assign(10, GRACE);
      expect(request).toMatchObject({ id: 10, status: 'in_progress', operatorId: GRACE.id });
      expect(desk.eventsOf(10)).toEqual([
        {
          requestId: 10,
          type: 'assigned',
          actor: 'operator',
          operatorId: GRACE.id,
          data: { operatorId: GRACE.id, operatorName: 'Grace' },
        },
      ]);
      expect(mail.sent).toEqual([{ requestId: 10, event: 'assigned', operatorName: 'Grace' }]);
      expect(desk.webhookEvents).toEqual([
        {
          event: 'request.assigned',
          data: {
            requestId: 10,
            subject: 'Printer',
            operatorId: GRACE.id,
            operatorName: 'Grace',
            assignedBy: GRACE.id,
          },
        },
      ]);
    });

    it('takes a new request once: a second take finds it in progress (409) and changes nothing', async () => {
      desk.addRequest({ id: 10 });
      await lifecycle().assign(10, GRACE);
      await expect(lifecycle().assign(10, LINUS)).rejects.toThrow(
        new ConflictException('request 10 is in_progress, not new: it cannot be taken'),
      );
      expect(desk.requests.get(10)).toMatchObject({ status: 'in_progress', operatorId: GRACE.id });
      expect(desk.events).toHaveLength(1);
      expect(mail.sent).toHaveLength(1);
    });

    it('lets only an admin assign to someone else, and only to an active operator', async () => {
      desk.addRequest({ id: 10 });
      await expect(lifecycle().assign(10, GRACE, LINUS.id)).rejects.toBeInstanceOf(ForbiddenException);
      desk.addOperator(4, 'Gone', 'operator', false);
      await expect(lifecycle().assign(10, ADMIN, 4)).rejects.toBeInstanceOf(BadRequestException);
      await expect(lifecycle().assign(10, ADMIN, 99)).rejects.toBeInstanceOf(BadRequestException);
      expect(desk.events).toEqual([]);

      await expect(lifecycle().assign(10, ADMIN, LINUS.id)).resolves.toMatchObject({ operatorId: LINUS.id });
      expect(desk.eventsOf(10, 'assigned')[0]).toMatchObject({
        operatorId: ADMIN.id,
        data: { operatorId: LINUS.id, operatorName: 'Linus' },
      });
      expect(desk.webhookEvents[0].data).toMatchObject({ operatorId: LINUS.id, assignedBy: ADMIN.id });
    });

    it('refuses a request that is taken or closed, or does not exist, and writes nothing', async () => {
      desk.addRequest({ id: 10, status: 'in_progress', operatorId: LINUS.id });
      desk.addRequest({ id: 11, status: 'closed' });
      await expect(lifecycle().assign(10, GRACE)).rejects.toThrow(
        new ConflictException('request 10 is in_progress, not new: it cannot be taken'),
      );
      // An admin taking a request in progress for themselves (no operatorId) is a take, not a reassignment.
      await expect(lifecycle().assign(10, ADMIN)).rejects.toBeInstanceOf(ConflictException);
      await expect(lifecycle().assign(11, ADMIN, GRACE.id)).rejects.toThrow(/is closed, not new/);
      await expect(lifecycle().assign(12, GRACE)).rejects.toBeInstanceOf(NotFoundException);
      expect(desk.requests.get(10)).toMatchObject({ status: 'in_progress', operatorId: LINUS.id });
      expect([desk.events, mail.sent, desk.webhookEvents]).toEqual([[], [], []]);
    });

    it('holds an operator to OPERATOR_MAX_OPEN requests in progress, counted under their row lock', async () => {
      desk.addRequest({ id: 10, status: 'in_progress', operatorId: GRACE.id });
      desk.addRequest({ id: 11, status: 'closed', operatorId: GRACE.id });
      desk.addRequest({ id: 12 });
      desk.addRequest({ id: 13 });
      const limited = lifecycle({ OPERATOR_MAX_OPEN: '2' });
      await expect(limited.assign(12, GRACE)).resolves.toMatchObject({ status: 'in_progress' });
      expect(desk.lockedOperators).toEqual([GRACE.id]);
      await expect(limited.assign(13, GRACE)).rejects.toThrow(
        new ConflictException('operator 2 already has 2 requests in progress (the limit, OPERATOR_MAX_OPEN, is 2)'),
      );
      expect(desk.requests.get(13)).toMatchObject({ status: 'new', operatorId: null });
      // Another operator is not held by Grace's count.
      await expect(limited.assign(13, LINUS)).resolves.toMatchObject({ operatorId: LINUS.id });
    });

    it('takes without limit when OPERATOR_MAX_OPEN is 0 and the operator has no capacity of their own', async () => {
      for (let id = 10; id < 15; id++) desk.addRequest({ id });
      for (let id = 10; id < 15; id++) await lifecycle().assign(id, GRACE);
      expect([...desk.requests.values()].filter((r) => r.operatorId === GRACE.id)).toHaveLength(5);
    });

    it("holds an operator to their own capacity over OPERATOR_MAX_OPEN; 0 is unlimited, as the global's 0", async () => {
      for (let id = 10; id < 14; id++) desk.addRequest({ id });
      desk.operators.get(GRACE.id)!.capacity = 1;
      desk.operators.get(LINUS.id)!.capacity = 0;
      const limited = lifecycle({ OPERATOR_MAX_OPEN: '1' });
      await limited.assign(10, GRACE);
      await expect(limited.assign(11, GRACE)).rejects.toThrow(
        new ConflictException('operator 2 already has 1 requests in progress (the limit, their capacity, is 1)'),
      );
      await limited.assign(11, LINUS);
      await expect(limited.assign(12, LINUS)).resolves.toMatchObject({ operatorId: LINUS.id });
    });
  });

  describe('reassign (an admin naming an operator for a request in progress)', () => {
    beforeEach(() => {
      desk.addRequest({ id: 10, subject: 'VPN', status: 'in_progress', operatorId: GRACE.id });
    });

    it('moves the request: a reassigned event and a webhook naming who had it; no mail without REASSIGN_NOTIFY', async () => {
      await expect(lifecycle().assign(10, ADMIN, LINUS.id)).resolves.toMatchObject({
        status: 'in_progress',
        operatorId: LINUS.id,
      });
      expect(desk.eventsOf(10)).toEqual([
        {
          requestId: 10,
          type: 'reassigned',
          actor: 'operator',
          operatorId: ADMIN.id,
          data: { fromOperatorId: GRACE.id, operatorId: LINUS.id, operatorName: 'Linus' },
        },
      ]);
      expect(desk.webhookEvents).toEqual([
        {
          event: 'request.assigned',
          data: {
            requestId: 10,
            subject: 'VPN',
            operatorId: LINUS.id,
            operatorName: 'Linus',
            assignedBy: ADMIN.id,
            reassignedFrom: GRACE.id,
          },
        },
      ]);
      expect(mail.sent).toEqual([]);
    });

    it('mails the customer with REASSIGN_NOTIFY', async () => {
      await lifecycle({ REASSIGN_NOTIFY: 'true' }).assign(10, ADMIN, LINUS.id);
      expect(mail.sent).toEqual([{ requestId: 10, event: 'assigned', operatorName: 'Linus' }]);
    });

    it('refuses the operator who has it already, and one at OPERATOR_MAX_OPEN', async () => {
      await expect(lifecycle().assign(10, ADMIN, GRACE.id)).rejects.toThrow(
        new ConflictException('request 10 is already assigned to operator 2'),
      );
      desk.addRequest({ id: 11, status: 'in_progress', operatorId: LINUS.id });
      await expect(lifecycle({ OPERATOR_MAX_OPEN: '1' }).assign(10, ADMIN, LINUS.id)).rejects.toThrow(
        /operator 3 already has 1 requests in progress/,
      );
      expect(desk.requests.get(10)).toMatchObject({ operatorId: GRACE.id });
      expect(desk.events).toEqual([]);
    });
  });

  describe('unassign', () => {
    it('puts a request in progress back in the queue: new, no assignee, an unassigned event, no mail', async () => {
      desk.addRequest({ id: 10, status: 'in_progress', operatorId: GRACE.id });
      await expect(lifecycle().unassign(10, ADMIN)).resolves.toMatchObject({ status: 'new', operatorId: null });
      expect(desk.eventsOf(10)).toEqual([
        { requestId: 10, type: 'unassigned', actor: 'operator', operatorId: ADMIN.id, data: { fromOperatorId: 2 } },
      ]);
      expect([mail.sent, desk.webhookEvents]).toEqual([[], []]);
    });

    it('refuses a request that is not in progress (409) or does not exist (404)', async () => {
      desk.addRequest({ id: 10 });
      desk.addRequest({ id: 11, status: 'closed', operatorId: GRACE.id });
      await expect(lifecycle().unassign(10, ADMIN)).rejects.toThrow(
        new ConflictException('request 10 is new: only a request in progress can be unassigned'),
      );
      await expect(lifecycle().unassign(11, ADMIN)).rejects.toThrow(/is closed: only a request in progress/);
      await expect(lifecycle().unassign(12, ADMIN)).rejects.toBeInstanceOf(NotFoundException);
      expect(desk.events).toEqual([]);
    });
  });

  describe('close', () => {
    it('closes a request in progress: an event, the closing mail signed by the closer, a webhook', async () => {
      desk.addRequest({ id: 10, subject: 'Printer', status: 'in_progress', operatorId: GRACE.id });
      await expect(lifecycle().close(10, LINUS)).resolves.toMatchObject({ status: 'closed' });
      expect(desk.eventsOf(10)).toEqual([{ requestId: 10, type: 'closed', actor: 'operator', operatorId: LINUS.id }]);
      expect(mail.sent).toEqual([{ requestId: 10, event: 'closed', operatorName: 'Linus' }]);
      expect(desk.webhookEvents).toEqual([
        {
          event: 'request.closed',
          data: { requestId: 10, subject: 'Printer', closedBy: LINUS.id, operatorName: 'Linus' },
        },
      ]);
    });

    it('refuses a new or closed request (409) and an unknown one (404), writing nothing', async () => {
      desk.addRequest({ id: 10 });
      desk.addRequest({ id: 11, status: 'closed' });
      await expect(lifecycle().close(10, GRACE)).rejects.toThrow(
        new ConflictException('request 10 is new: only a request in progress can be closed'),
      );
      await expect(lifecycle().close(11, GRACE)).rejects.toThrow(/is closed: only a request in progress/);
      await expect(lifecycle().close(12, GRACE)).rejects.toBeInstanceOf(NotFoundException);
      expect([desk.events, mail.sent, desk.webhookEvents]).toEqual([[], [], []]);
    });
  });

  it('fails a take and writes nothing when no module gave it the auto-replies', async () => {
    desk.addRequest({ id: 10 });
    const bare = new RequestLifecycleService(loadConfig({}), desk, desk, desk.operatorsService, desk.webhooks);
    await expect(bare.assign(10, GRACE)).rejects.toThrow(/no auto-reply sender/);
    expect(desk.requests.get(10)).toMatchObject({ status: 'new', operatorId: null });
    expect(desk.events).toEqual([]);
  });

  describe('the scope of groups', () => {
    /** Grace works in group 2 (billing); Linus in group 1. */
    const billingGrace: AuthOperator = { ...GRACE, groupIds: [2] };
    beforeEach(() => {
      desk.addOperator(GRACE.id, GRACE.name, 'operator', true, [2]);
      desk.addOperator(LINUS.id, LINUS.name, 'operator', true, [1]);
    });

    it("answers 404 to an operator in groups for another group's request, or one in no group, and changes nothing", async () => {
      desk.addRequest({ id: 10, groupId: 1 });
      desk.addRequest({ id: 11, groupId: null });
      for (const id of [10, 11]) {
        await expect(lifecycle().assign(id, billingGrace)).rejects.toThrow(
          new NotFoundException(`request ${id} does not exist`),
        );
      }
      desk.requests.get(10)!.status = 'in_progress';
      await expect(lifecycle().close(10, billingGrace)).rejects.toBeInstanceOf(NotFoundException);
      expect(desk.events).toEqual([]);
      expect(mail.sent).toEqual([]);
    });

    it("lets an operator in groups take and close their group's request", async () => {
      desk.addRequest({ id: 12, groupId: 2 });
      await expect(lifecycle().assign(12, billingGrace)).resolves.toMatchObject({ status: 'in_progress' });
      await expect(lifecycle().close(12, billingGrace)).resolves.toMatchObject({ status: 'closed' });
    });

    it('refuses (400) an admin handing a request to an operator who cannot see it; an operator in no group can', async () => {
      desk.addRequest({ id: 13, groupId: 2 });
      await expect(lifecycle().assign(13, ADMIN, LINUS.id)).rejects.toThrow(
        new BadRequestException('operator 3 works in other groups: they cannot see request 13 (group 2)'),
      );
      await expect(lifecycle().assign(13, ADMIN, GRACE.id)).resolves.toMatchObject({ operatorId: GRACE.id });
      desk.addOperator(4, 'Ungrouped');
      await expect(lifecycle().assign(13, ADMIN, 4)).resolves.toMatchObject({ operatorId: 4 });
      await expect(lifecycle().assign(13, ADMIN, LINUS.id)).rejects.toBeInstanceOf(BadRequestException);
      expect(desk.requests.get(13)!.operatorId).toBe(4);
    });
  });

  describe('automatic assignment and the pool', () => {
    it('assigns through the same path as a take: a system `assigned` event marked auto, the mail, the webhook', async () => {
      desk.addRequest({ id: 10, subject: 'Printer' });
      const done = await desk.transaction((m) =>
        lifecycle().autoAssign(m, { id: 10, subject: 'Printer', assignedBefore: false }, GRACE, 'round_robin'),
      );
      expect(done).toBe(true);
      expect(desk.requests.get(10)).toMatchObject({ status: 'in_progress', operatorId: GRACE.id });
      expect(desk.eventsOf(10)).toEqual([
        {
          requestId: 10,
          type: 'assigned',
          actor: 'system',
          data: { operatorId: GRACE.id, operatorName: 'Grace', auto: true, mode: 'round_robin' },
        },
      ]);
      expect(mail.sent).toEqual([{ requestId: 10, event: 'assigned', operatorName: 'Grace' }]);
      expect(desk.webhookEvents).toEqual([
        {
          event: 'request.assigned',
          data: {
            requestId: 10,
            subject: 'Printer',
            operatorId: GRACE.id,
            operatorName: 'Grace',
            assignedBy: null,
            auto: true,
            mode: 'round_robin',
          },
        },
      ]);
      // Not new any more: nothing happens a second time.
      await expect(
        desk.transaction((m) =>
          lifecycle().autoAssign(m, { id: 10, subject: 'Printer', assignedBefore: false }, LINUS, 'round_robin'),
        ),
      ).resolves.toBe(false);
      expect(desk.events).toHaveLength(1);
    });

    it('hands a request back to the pool without mail, and mails its next assignment only with REASSIGN_NOTIFY', async () => {
      desk.addRequest({ id: 10, status: 'in_progress', operatorId: GRACE.id });
      await expect(desk.transaction((m) => lifecycle().releaseToPool(m, 10, LINUS.id))).resolves.toBe(false);
      await expect(desk.transaction((m) => lifecycle().releaseToPool(m, 10, GRACE.id))).resolves.toBe(true);
      expect(desk.requests.get(10)).toMatchObject({ status: 'new', operatorId: null });
      expect(desk.eventsOf(10, 'unassigned')).toEqual([
        expect.objectContaining({ actor: 'system', data: { fromOperatorId: GRACE.id, reason: 'unavailable' } }),
      ]);
      const again = { id: 10, subject: 'Printer', assignedBefore: true };
      await desk.transaction((m) => lifecycle().autoAssign(m, again, LINUS, 'least_loaded'));
      expect(mail.sent).toEqual([]);
      await desk.transaction((m) => lifecycle().releaseToPool(m, 10, LINUS.id));
      await desk.transaction((m) => lifecycle({ REASSIGN_NOTIFY: 'true' }).autoAssign(m, again, GRACE, 'least_loaded'));
      expect(mail.sent).toEqual([{ requestId: 10, event: 'assigned', operatorName: 'Grace' }]);
    });
  });
});
