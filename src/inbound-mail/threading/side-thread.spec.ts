import type { EntityManager } from 'typeorm';
import { IngestDesk } from '../../../test/fakes/ingest-desk';
import { MemorySideThreads } from '../../../test/fakes/memory-side-threads';
import { mailFrom } from '../../../test/fakes/parsed-mail';
import type { AdmitDecision } from '../filters';
import { threadSideReply } from './side-thread';
import { threadMail } from './thread-resolver';

const tx = {} as EntityManager;
const CUSTOMER = 'c@example.com';
const VENDOR = 'vendor@vendors.test';
const TOKEN = 'abcdefgh23456723';

describe('threading: a third party’s answer in a side thread', () => {
  let desk: IngestDesk;
  let sides: MemorySideThreads;
  let requestId: number;
  beforeEach(() => {
    desk = new IngestDesk();
    sides = new MemorySideThreads();
    requestId = desk.request(CUSTOMER, { sentMessageId: 'reply@desk.test' }).id;
    sides.add({ requestId, token: TOKEN, addresses: [VENDOR], messageIds: ['fwd-1@desk.test'] });
  });

  const thread = (mail: ReturnType<typeof mailFrom>, decision: AdmitDecision = { action: 'continue' }) =>
    threadMail(tx, mail, Buffer.from(''), decision, desk, desk, undefined, sides);

  it('joins the side thread named in In-Reply-To, from one of its addresses', async () => {
    await expect(thread(mailFrom(VENDOR, { inReplyTo: 'fwd-1@desk.test' }))).resolves.toEqual({
      kind: 'side',
      requestId,
      sideThreadId: 1,
      automatic: null,
    });
  });

  it('joins it by a References id, or by the side token of the subject in any case', async () => {
    const byRef = mailFrom(VENDOR, { references: ['elsewhere@x.test', 'fwd-1@desk.test'] });
    await expect(thread(byRef)).resolves.toMatchObject({ kind: 'side', requestId });
    const byToken = mailFrom(VENDOR, { subject: `Re: Fwd: printer [#${requestId}-f:${TOKEN.toUpperCase()}]` });
    await expect(thread(byToken)).resolves.toMatchObject({ kind: 'side', requestId });
  });

  it('keeps automatic mail automatic (an out-of-office of the vendor), never answered', async () => {
    const mail = mailFrom(VENDOR, { inReplyTo: 'fwd-1@desk.test' });
    await expect(thread(mail, { action: 'automatic', reason: 'auto-submitted' })).resolves.toMatchObject({
      kind: 'side',
      automatic: 'auto-submitted',
    });
  });

  it('threads another sender naming the side thread as any mail: never into the side thread', async () => {
    const forged = mailFrom('mallory@evil.test', {
      subject: `[#${requestId}-f:${TOKEN}]`,
      inReplyTo: 'fwd-1@desk.test',
    });
    await expect(thread(forged)).resolves.toMatchObject({ kind: 'customer', created: true });
    // The customer with a copy of the forward: her own request, as customer mail.
    const customer = mailFrom(CUSTOMER, { inReplyTo: 'fwd-1@desk.test' });
    await expect(thread(customer)).resolves.toMatchObject({ kind: 'customer', requestId, created: false });
  });

  it('does not read a request token as a side token, nor a side token as a request token', async () => {
    await expect(thread(mailFrom(VENDOR, { subject: `Re: [#${requestId}]` }))).resolves.toMatchObject({
      kind: 'customer',
      created: true,
    });
    // An unknown token: the vendor's own request (opened just above), not the customer's.
    const unknown = await thread(mailFrom(VENDOR, { subject: `[#${requestId}-f:zzzzzzzzzzzzzzzz]` }));
    expect(unknown).toMatchObject({ kind: 'customer', created: false });
    expect(unknown).not.toMatchObject({ requestId });
  });

  it('asks nothing more of a mail without a sender, and looks up the sender lower-cased', async () => {
    await expect(threadSideReply(tx, mailFrom('', { inReplyTo: 'fwd-1@desk.test' }), null, sides)).resolves.toBeNull();
    expect(sides.lookups).toHaveLength(0);
    await expect(
      threadSideReply(tx, mailFrom('Vendor@Vendors.TEST', { inReplyTo: 'fwd-1@desk.test' }), null, sides),
    ).resolves.toMatchObject({ requestId });
    expect(sides.lookups[0].sender).toBe(VENDOR);
  });

  it('threads as before without side threads (no sides given)', async () => {
    const mail = mailFrom(VENDOR, { inReplyTo: 'fwd-1@desk.test' });
    await expect(threadMail(tx, mail, Buffer.from(''), { action: 'continue' }, desk, desk)).resolves.toMatchObject({
      kind: 'customer',
      created: true,
    });
  });
});
