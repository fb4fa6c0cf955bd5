import { BadRequestException, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { MemoryDesk } from '../../test/fakes/memory-desk';
import { MemoryParticipants } from '../../test/fakes/memory-participants';
import type { AuthOperator } from '../common/auth.decorators';
import { checkRecipients, MAX_PARTICIPANTS, ParticipantsService } from './participants.service';

const TX = {} as EntityManager;
const OWN = new Set(['help@desk.example', 'billing@desk.example']);
const GRACE: AuthOperator = { id: 2, email: 'grace@desk.example', name: 'Grace', role: 'operator', groupIds: [] };

describe('ParticipantsService rules', () => {
  let desk: MemoryDesk;
  let store: MemoryParticipants;
  let service: ParticipantsService;

  beforeEach(() => {
    desk = new MemoryDesk();
    desk.addRequest({ id: 10, customer: { email: 'ann@example.com', name: 'Ann', blocked: false } });
    desk.addRequest({ id: 11, groupId: 7 });
    store = new MemoryParticipants(new Map([[10, 'ann@example.com']]));
    service = new ParticipantsService(
      store,
      {
        findById: (id: number) => desk.findById(id),
        insertEvent: (id, event) => desk.addEvent(TX, id, event),
      },
      { mail: { supportAddress: 'Help@Desk.example' } } as never,
      { ownAddresses: () => Promise.resolve(new Set(['billing@desk.example'])) },
    );
  });

  it("adds a mail's To and Cc but our own addresses and the customer, each once, with one event", async () => {
    const added = await service.addFromMail(
      TX,
      10,
      [
        { address: 'help@desk.example', name: 'Desk' },
        { address: 'Bob@Example.com', name: 'Bob' },
        { address: 'ann@example.com', name: 'Ann' },
        { address: 'bob@example.com', name: 'Bobby' },
        { address: 'cy@example.com', name: '' },
      ],
      OWN,
    );
    expect(added).toEqual(['bob@example.com', 'cy@example.com']);
    await expect(service.list(10)).resolves.toEqual([
      { email: 'bob@example.com', name: 'Bob' },
      { email: 'cy@example.com', name: null },
    ]);
    expect(desk.eventsOf(10, 'participants_added')).toEqual([
      expect.objectContaining({ actor: 'customer', data: { emails: ['bob@example.com', 'cy@example.com'] } }),
    ]);
  });

  it('writes no event when nobody is new', async () => {
    await service.addFromMail(TX, 10, [{ address: 'bob@example.com', name: 'Bob' }], OWN);
    await service.addFromMail(
      TX,
      10,
      [{ address: 'bob@example.com', name: 'Bob' }, { address: 'help@desk.example' }],
      OWN,
    );
    expect(desk.eventsOf(10, 'participants_added')).toHaveLength(1);
  });

  it('keeps at most MAX_PARTICIPANTS and says how many were left out', async () => {
    const crowd = Array.from({ length: 10_000 }, (_, i) => ({ address: `x${i}@crowd.example`, name: `X ${i}` }));
    const added = await service.addFromMail(TX, 10, crowd, OWN);
    expect(added).toHaveLength(MAX_PARTICIPANTS);
    await expect(service.list(10)).resolves.toHaveLength(MAX_PARTICIPANTS);
    expect(desk.eventsOf(10, 'participants_added')[0].data).toMatchObject({ ignored: 10_000 - MAX_PARTICIPANTS });
    // A full request: the next mail's newcomers are all left out.
    await service.addFromMail(TX, 10, [{ address: 'late@example.com' }, { address: 'x1@crowd.example' }], OWN);
    expect(desk.eventsOf(10, 'participants_added')[1].data).toEqual({ emails: [], ignored: 1 });
  });

  it('knows our own addresses: the mailboxes and SUPPORT_ADDRESS, lower-cased', async () => {
    await expect(service.ownAddresses()).resolves.toEqual(new Set(['billing@desk.example', 'help@desk.example']));
  });

  it('replaces the list, keeping known names, and records who came and went', async () => {
    await service.addFromMail(
      TX,
      10,
      [{ address: 'bob@example.com', name: 'Bob' }, { address: 'cy@example.com' }],
      OWN,
    );
    const list = await service.replace(10, GRACE, [
      { email: 'bob@example.com', name: null },
      { email: 'dee@example.com', name: 'Dee' },
    ]);
    expect(list).toEqual([
      { email: 'bob@example.com', name: 'Bob' },
      { email: 'dee@example.com', name: 'Dee' },
    ]);
    expect(desk.eventsOf(10, 'participants_changed')).toEqual([
      expect.objectContaining({
        actor: 'operator',
        operatorId: 2,
        data: { added: ['dee@example.com'], removed: ['cy@example.com'] },
      }),
    ]);
  });

  it('refuses our own addresses and the customer in the list; a request out of scope is missing', async () => {
    await expect(service.replace(10, GRACE, [{ email: 'billing@desk.example', name: null }])).rejects.toThrow(
      /our own address/,
    );
    await expect(service.replace(10, GRACE, [{ email: 'ann@example.com', name: null }])).rejects.toThrow(/customer/);
    await expect(service.replace(11, { ...GRACE, groupIds: [3] }, [])).rejects.toBeInstanceOf(NotFoundException);
    await expect(service.replace(99, GRACE, [])).rejects.toBeInstanceOf(NotFoundException);
  });

  it('checkRecipients: at most MAX_PARTICIPANTS, none of ours, not the customer', () => {
    const many = Array.from({ length: MAX_PARTICIPANTS + 1 }, (_, i) => `p${i}@example.com`);
    expect(() => checkRecipients(many, OWN, 'ann@example.com', 'cc')).toThrow(BadRequestException);
    expect(() => checkRecipients(['help@desk.example'], OWN, 'ann@example.com', 'bcc')).toThrow(/bcc: .*our own/);
    expect(() => checkRecipients(['ann@example.com'], OWN, 'ann@example.com', 'cc')).toThrow(/customer/);
    expect(() => checkRecipients(['bob@example.com'], OWN, 'ann@example.com', 'cc')).not.toThrow();
  });
});
