import { NotFoundException } from '@nestjs/common';
import { MemoryDesk } from '../../test/fakes/memory-desk';
import type { AuthOperator } from '../common/auth.decorators';
import { MessagesService } from './messages.service';
import { NotesService } from './notes.service';

const GRACE: AuthOperator = { id: 2, email: 'grace@desk.example', name: 'Grace', role: 'operator', groupIds: [] };

describe('NotesService rules', () => {
  let desk: MemoryDesk;
  let notes: NotesService;

  beforeEach(() => {
    desk = new MemoryDesk();
    notes = new NotesService(desk, desk, new MessagesService(desk, desk.outbox), desk.outbox);
  });

  it('adds a note to any request, closed included: never mailed, not a response, searchable, a note event', async () => {
    desk.addRequest({ id: 10, status: 'closed' });
    const view = await notes.add(10, GRACE, 'Called the customer');
    expect(view.message).toMatchObject({
      seq: 1,
      direction: 'out',
      kind: 'note',
      operatorId: GRACE.id,
      fromAddress: 'grace@desk.example',
      fromName: 'Grace',
      toAddresses: [],
      subject: 'Internal note',
      text: 'Called the customer',
    });
    expect(view.message.messageId).toMatch(/^md-note-/);
    expect(view.delivery).toBeNull();
    expect(desk.mails).toEqual([]);
    expect(desk.requests.get(10)).toMatchObject({
      firstResponseAt: null,
      searchText: ['Internal note Called the customer'],
    });
    expect(desk.eventsOf(10)).toEqual([
      { requestId: 10, type: 'note', actor: 'operator', operatorId: GRACE.id, data: { messageId: view.message.id } },
    ]);
  });

  it('refuses a request that does not exist', async () => {
    await expect(notes.add(99, GRACE, 'x')).rejects.toBeInstanceOf(NotFoundException);
    expect(desk.messages).toEqual([]);
  });
});
