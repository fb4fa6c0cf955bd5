import { BadRequestException, ConflictException, ForbiddenException, NotFoundException } from '@nestjs/common';
import { MemorySavedReplies } from '../../test/fakes/memory-saved-replies';
import { canManageReply, canSeeReply, type ReplyActor, SavedRepliesService } from './saved-replies.service';

const ADMIN: ReplyActor = { id: 1, role: 'admin', groupIds: [] };
const BILLING: ReplyActor = { id: 2, role: 'operator', groupIds: [10] };
const SALES: ReplyActor = { id: 3, role: 'operator', groupIds: [20] };
const LONER: ReplyActor = { id: 4, role: 'operator', groupIds: [] };

describe('SavedRepliesService rules', () => {
  let store: MemorySavedReplies;
  let service: SavedRepliesService;

  beforeEach(() => {
    store = new MemorySavedReplies();
    store.groups.add(10).add(20);
    service = new SavedRepliesService(store);
  });

  it("shows admins every reply, operators the global ones and their groups' (in no group: global only)", async () => {
    const global = await service.create(ADMIN, { name: 'Hello', text: 'Hi {{customer.name}}' });
    const billing = await service.create(BILLING, { name: 'Refund', text: 'Refunded', groupId: 10 });
    const sales = await service.create(ADMIN, { name: 'Offer', text: 'Offer', groupId: 20 });
    const ids = async (actor: ReplyActor, groupId?: number) => (await service.list(actor, groupId)).map((r) => r.id);
    expect(await ids(ADMIN)).toEqual([global.id, sales.id, billing.id]);
    expect(await ids(BILLING)).toEqual([global.id, billing.id]);
    expect(await ids(LONER)).toEqual([global.id]);
    expect(await ids(BILLING, 20)).toEqual([]);
    expect(await ids(ADMIN, 20)).toEqual([sales.id]);
    await expect(service.get(SALES, billing.id)).rejects.toBeInstanceOf(NotFoundException);
    expect([canSeeReply(LONER, 10), canManageReply(BILLING, null), canManageReply(BILLING, 10)]).toEqual([
      false,
      false,
      true,
    ]);
  });

  it("lets operators manage only their groups' replies: 403 for global ones, 404 for ones they do not see", async () => {
    await expect(service.create(BILLING, { name: 'X', text: 'x' })).rejects.toBeInstanceOf(ForbiddenException);
    await expect(service.create(BILLING, { name: 'X', text: 'x', groupId: 20 })).rejects.toBeInstanceOf(
      ForbiddenException,
    );
    const global = await service.create(ADMIN, { name: 'Hello', text: 'Hi' });
    const sales = await service.create(SALES, { name: 'Offer', text: 'Offer', groupId: 20 });
    await expect(service.update(BILLING, global.id, { text: 'Yo' })).rejects.toBeInstanceOf(ForbiddenException);
    await expect(service.remove(BILLING, sales.id)).rejects.toBeInstanceOf(NotFoundException);
    await expect(service.update(SALES, sales.id, { text: 'Deal' })).resolves.toMatchObject({ text: 'Deal' });
    await service.remove(SALES, sales.id);
    expect(store.replies.has(sales.id)).toBe(false);
  });

  it('refuses a duplicate name in the same scope in any case (409), allows it in another scope', async () => {
    await service.create(ADMIN, { name: 'Hello', text: 'Hi' });
    await expect(service.create(ADMIN, { name: 'HELLO', text: 'Hi' })).rejects.toBeInstanceOf(ConflictException);
    const inGroup = await service.create(BILLING, { name: 'hello', text: 'Hi', groupId: 10 });
    const other = await service.create(BILLING, { name: 'Other', text: 'Hi', groupId: 10 });
    await expect(service.update(BILLING, other.id, { name: 'HELLO' })).rejects.toBeInstanceOf(ConflictException);
    expect(inGroup.groupId).toBe(10);
  });

  it('refuses unknown variables and unknown groups (400)', async () => {
    await expect(service.create(ADMIN, { name: 'A', text: 'Hi {{customer.phone}}' })).rejects.toThrow(
      BadRequestException,
    );
    await expect(service.create(ADMIN, { name: 'A', text: 'Hi', groupId: 99 })).rejects.toThrow(
      new BadRequestException('group 99 does not exist'),
    );
    const reply = await service.create(ADMIN, { name: 'A', text: 'Hi' });
    await expect(service.update(ADMIN, reply.id, { text: '{{ nope }}' })).rejects.toBeInstanceOf(BadRequestException);
  });

  it('renders a reply the actor sees for a request (404 otherwise) and gives signatures trimmed', async () => {
    const reply = await service.create(BILLING, {
      name: 'A',
      text: 'Hello {{customer.name}}, #{{request.id}}',
      groupId: 10,
    });
    const context = { customerName: 'Ann', customerEmail: 'a@x', requestId: 7, requestSubject: 'S', operatorName: 'G' };
    await expect(service.render(BILLING, reply.id, context)).resolves.toBe('Hello Ann, #7');
    await expect(service.render(SALES, reply.id, context)).rejects.toBeInstanceOf(NotFoundException);
    store.signatures.set(2, '  Grace\nBilling  ').set(3, '   ');
    expect([await service.signatureOf(2), await service.signatureOf(3), await service.signatureOf(9)]).toEqual([
      'Grace\nBilling',
      null,
      null,
    ]);
  });
});
