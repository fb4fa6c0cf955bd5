import { jest } from '@jest/globals';
import type { EntityManager } from 'typeorm';
import { MemoryDesk } from '../../test/fakes/memory-desk';
import { LIST_BODY_CHARS, MessagesService, searchTextOf, type NewMessage } from './messages.service';

const MANAGER = {} as EntityManager;

function mail(requestId: number, over: Partial<NewMessage> = {}): NewMessage {
  return {
    requestId,
    direction: 'in',
    kind: 'customer',
    fromAddress: 'ann@example.com',
    to: ['help@desk.example'],
    subject: 'Printer',
    text: 'It jams',
    messageId: `m${Math.random()}@example.com`,
    ...over,
  };
}

describe('MessagesService rules', () => {
  let desk: MemoryDesk;
  let messages: MessagesService;

  beforeEach(() => {
    desk = new MemoryDesk();
    messages = new MessagesService(desk, desk.outbox);
  });

  it('makes searchable what people wrote: a customer mail with its sender, operator messages and notes; not automatic mail', () => {
    const m = { fromAddress: 'ann@example.com', subject: 'Printer', text: 'It jams' };
    expect(searchTextOf({ ...m, kind: 'customer' })).toBe('ann@example.com Printer It jams');
    expect(searchTextOf({ ...m, kind: 'operator' })).toBe('Printer It jams');
    expect(searchTextOf({ ...m, kind: 'note' })).toBe('Printer It jams');
    expect(searchTextOf({ ...m, kind: 'auto_reply' })).toBe('');
    expect(searchTextOf({ ...m, kind: 'system' })).toBe('');
  });

  it('appends with the number the store gives, the defaults filled in, and the files stored under the new message', async () => {
    desk.addRequest({ id: 10 });
    await messages.append(MANAGER, mail(10));
    const file = {
      filename: 'a.pdf',
      contentType: 'application/pdf',
      size: 1,
      sha256: 's',
      contentId: 'c1',
      content: Buffer.from('x'),
    };
    const second = await messages.append(MANAGER, mail(10, { attachments: [file, { ...file, filename: 'b.pdf' }] }));
    expect(second).toMatchObject({
      seq: 2,
      requestId: 10,
      operatorId: null,
      fromName: null,
      senderSource: null,
      ccAddresses: [],
      html: null,
      inReplyTo: null,
      references: [],
      sentAt: null,
    });
    expect(second.createdAt).toBeInstanceOf(Date);
    expect(desk.attachments.map((a) => [a.messageId, a.filename])).toEqual([
      [second.id, 'a.pdf'],
      [second.id, 'b.pdf'],
    ]);
    expect(desk.requests.get(10)!.searchText).toEqual([
      'ann@example.com Printer It jams',
      'ann@example.com Printer It jams',
    ]);
  });

  it('throws when the request does not exist', async () => {
    await expect(messages.append(MANAGER, mail(99))).rejects.toThrow('request 99 does not exist');
  });

  it('finds the requests of Message-IDs (any, or only ours for bounces), asking nothing for none', async () => {
    desk.addRequest({ id: 10 });
    desk.addRequest({ id: 11 });
    await messages.append(MANAGER, mail(10, { messageId: 'theirs@example.com' }));
    await messages.append(MANAGER, mail(11, { messageId: 'ours@desk.example', direction: 'out', kind: 'operator' }));
    const ids = ['theirs@example.com', 'ours@desk.example'];
    await expect(messages.requestIdsForMessageIds(MANAGER, ids)).resolves.toEqual([10, 11]);
    await expect(messages.requestIdsForOwnMessageIds(MANAGER, ids)).resolves.toEqual([11]);
    const asked = jest.spyOn(desk, 'requestIdsForMessageIds');
    await expect(messages.requestIdsForMessageIds(MANAGER, [])).resolves.toEqual([]);
    await expect(messages.requestIdsForOwnMessageIds(MANAGER, [])).resolves.toEqual([]);
    expect(asked).not.toHaveBeenCalled();
  });

  it('pages the conversation: cut bodies marked truncated, attachments and delivery beside each, more when messages follow', async () => {
    desk.addRequest({ id: 10 });
    await messages.append(MANAGER, mail(10, { text: 'x'.repeat(LIST_BODY_CHARS + 1) }));
    const out = await messages.append(MANAGER, mail(10, { direction: 'out', kind: 'operator' }));
    await desk.outbox.enqueue(MANAGER, {
      kind: 'operator',
      to: 'ann@example.com',
      subject: 's',
      text: 't',
      messageId: 'x',
      messageRowId: out.id,
    });
    await messages.append(MANAGER, mail(10));

    const first = await messages.listPage(10, 0, 2);
    expect(first.more).toBe(true);
    expect(first.views.map((v) => [v.message.seq, v.truncated, v.delivery?.status ?? null])).toEqual([
      [1, true, null],
      [2, false, 'pending'],
    ]);
    expect(first.views[0].message.text).toHaveLength(LIST_BODY_CHARS);
    const last = await messages.listPage(10, 2, 2);
    expect([last.views.map((v) => v.message.seq), last.more]).toEqual([[3], false]);
    await expect(messages.listPage(10, 3, 2)).resolves.toEqual({ views: [], more: false });
  });

  it('shows one message whole only within its request', async () => {
    desk.addRequest({ id: 10 });
    desk.addRequest({ id: 11 });
    const m = await messages.append(MANAGER, mail(10, { text: 'x'.repeat(LIST_BODY_CHARS + 1) }));
    await expect(messages.viewInRequest(11, m.id)).resolves.toBeNull();
    const view = await messages.viewInRequest(10, m.id);
    expect(view?.message.text).toHaveLength(LIST_BODY_CHARS + 1);
    expect(view).toMatchObject({ attachments: [], delivery: null });
  });
});
