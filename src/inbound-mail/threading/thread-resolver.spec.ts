import { jest } from '@jest/globals';
import type { EntityManager } from 'typeorm';
import { IngestDesk } from '../../../test/fakes/ingest-desk';
import { mailFrom } from '../../../test/fakes/parsed-mail';
import type { AdmitDecision } from '../filters';
import { MAX_REFERENCES, MAX_SUBJECT_TOKENS } from '../parser/limits';
import type { ParsedMail } from '../parser/parsed-mail';
import { MAX_SUBJECT_LENGTH, NO_SUBJECT } from '../../common/subject';
import { requestSubject, resolveThread, threadMail, type ThreadMessages, type ThreadRequests } from './thread-resolver';

const tx = {} as EntityManager;
const CUSTOMER = 'c@example.com';
const PERSON: AdmitDecision = { action: 'continue' };

/** The thread step for one mail of `desk`. */
function thread(desk: IngestDesk, mail: ParsedMail, decision = PERSON, raw = Buffer.from('')) {
  return threadMail(tx, mail, raw, decision, desk, desk);
}

describe('threading: which request a mail joins', () => {
  let desk: IngestDesk;
  beforeEach(() => (desk = new IngestDesk()));

  it('joins the open request named by a [#n] token in the subject', async () => {
    desk.request(CUSTOMER);
    const named = desk.request('other@example.com', { participants: [CUSTOMER] });
    await expect(thread(desk, mailFrom(CUSTOMER, { subject: `Re: [#${named.id}] printer` }))).resolves.toEqual({
      kind: 'customer',
      requestId: named.id,
      created: false,
      automatic: null,
    });
  });

  it('joins the request a merged request named by its token was merged into, following a chain of merges', async () => {
    const first = desk.request(CUSTOMER, { status: 'closed' });
    const second = desk.request(CUSTOMER, { status: 'closed' });
    const target = desk.request('other@example.com', { participants: [CUSTOMER] });
    first.mergedIntoId = second.id;
    second.mergedIntoId = target.id;
    await expect(thread(desk, mailFrom(CUSTOMER, { subject: `Re: [#${first.id}] printer` }))).resolves.toEqual({
      kind: 'customer',
      requestId: target.id,
      created: false,
      automatic: null,
    });
  });

  it('joins the open request of the message named in In-Reply-To', async () => {
    const request = desk.request(CUSTOMER, { sentMessageId: 'reply-1@desk.test' });
    await expect(thread(desk, mailFrom(CUSTOMER, { inReplyTo: 'reply-1@desk.test' }))).resolves.toMatchObject({
      kind: 'customer',
      requestId: request.id,
      created: false,
    });
  });

  it('joins the open request of a message named in References', async () => {
    const request = desk.request(CUSTOMER, { participants: ['cc@example.com'], sentMessageId: 'reply-1@desk.test' });
    const mail = mailFrom('cc@example.com', { references: ['unknown@elsewhere.test', 'reply-1@desk.test'] });
    await expect(thread(desk, mail)).resolves.toMatchObject({ kind: 'customer', requestId: request.id });
  });

  it('prefers the subject token to the references', async () => {
    desk.request('a@example.com', { participants: [CUSTOMER], sentMessageId: 'r@desk.test' });
    const named = desk.request('b@example.com', { participants: [CUSTOMER] });
    const mail = mailFrom(CUSTOMER, { subject: `[#${named.id}]`, inReplyTo: 'r@desk.test' });
    await expect(thread(desk, mail)).resolves.toMatchObject({ requestId: named.id });
  });

  it("does not join a request the sender takes no part in: the sender's open request instead", async () => {
    const stranger = desk.request('stranger@example.com', { sentMessageId: 's@desk.test' });
    const own = desk.request(CUSTOMER);
    const mail = mailFrom(CUSTOMER, { subject: `[#${stranger.id}]`, inReplyTo: 's@desk.test' });
    await expect(thread(desk, mail)).resolves.toMatchObject({ requestId: own.id, created: false });
  });

  it('joins the open request of the sender when the mail refers to none', async () => {
    const own = desk.request(CUSTOMER, { status: 'in_progress' });
    await expect(thread(desk, mailFrom(CUSTOMER))).resolves.toEqual({
      kind: 'customer',
      requestId: own.id,
      created: false,
      automatic: null,
    });
  });

  it('opens a new request for a sender without an open one, named after the subject', async () => {
    const result = await thread(desk, mailFrom('new@example.com', { subject: '   ' }));
    expect(result).toMatchObject({ kind: 'customer', created: true });
    expect(desk.requests).toEqual([expect.objectContaining({ subject: '(no subject)', previousRequestId: null })]);
  });

  it('never reopens a closed request: a reply to one opens a new request linked to it', async () => {
    const closed = desk.request(CUSTOMER, { status: 'closed', sentMessageId: 'old@desk.test' });
    const result = await thread(desk, mailFrom(CUSTOMER, { inReplyTo: 'old@desk.test' }));
    expect(result).toMatchObject({ kind: 'customer', created: true });
    expect(desk.requests.find((r) => r.id !== closed.id)).toMatchObject({ previousRequestId: closed.id });
  });

  it("files automatic mail like a person's, with the reason it is not answered", async () => {
    const decision: AdmitDecision = { action: 'automatic', reason: 'automatic: Auto-Submitted: auto-replied' };
    await expect(thread(desk, mailFrom(CUSTOMER), decision)).resolves.toMatchObject({
      kind: 'customer',
      created: true,
      automatic: 'automatic: Auto-Submitted: auto-replied',
    });
  });

  it('files the mail of a blocked customer on no request', async () => {
    desk.customer(CUSTOMER, true);
    await expect(thread(desk, mailFrom(CUSTOMER))).resolves.toEqual({ kind: 'none', reason: 'sender is blocked' });
    expect(desk.requests).toEqual([]);
  });

  it('files ignored mail (own mail) on no request, without a lookup', async () => {
    const decision: AdmitDecision = { action: 'ignore', reason: 'own mail: sent from the support address' };
    const lookups = jest.spyOn(desk, 'requestIdsForMessageIds');
    await expect(thread(desk, mailFrom(CUSTOMER), decision)).resolves.toEqual({
      kind: 'none',
      reason: 'own mail: sent from the support address',
    });
    expect(lookups).not.toHaveBeenCalled();
  });
});

describe('threading: bounces', () => {
  const BOUNCE: AdmitDecision = { action: 'bounce', reason: 'bounce: delivery status report' };
  let desk: IngestDesk;
  beforeEach(() => (desk = new IngestDesk()));

  it('puts a bounce on the request of the mail of the desk it returns, quoted in its body', async () => {
    const request = desk.request(CUSTOMER, { sentMessageId: 'auto-1@desk.test' });
    const raw = Buffer.from('Subject: Undelivered\r\n\r\n--b\r\nMessage-ID: <auto-1@desk.test>\r\n');
    await expect(thread(desk, mailFrom('mailer-daemon@mx.test'), BOUNCE, raw)).resolves.toEqual({
      kind: 'bounce',
      requestId: request.id,
      reason: 'bounce: delivery status report',
    });
  });

  it('puts a bounce on no request when it returns no mail of the desk (backscatter)', async () => {
    const request = desk.request(CUSTOMER);
    desk.message(request.id, 'customer-1@example.com', 'in');
    const mail = mailFrom('mailer-daemon@mx.test', { inReplyTo: 'customer-1@example.com' });
    await expect(thread(desk, mail, BOUNCE)).resolves.toEqual({
      kind: 'none',
      reason: 'bounce: delivery status report; refers to no mail the desk sent',
    });
  });

  it("does not take the bounce's own Message-ID for the one it returns", async () => {
    desk.request(CUSTOMER, { sentMessageId: 'dsn-1@mx.test' });
    const raw = Buffer.from('Message-ID: <dsn-1@mx.test>\r\n\r\n');
    const mail = mailFrom('mailer-daemon@mx.test', { messageId: 'dsn-1@mx.test' });
    await expect(thread(desk, mail, BOUNCE, raw)).resolves.toMatchObject({ kind: 'none' });
  });
});

/** resolveThread over stub services that know no request, recording what it looks up. */
async function lookups(mail: Partial<ParsedMail>): Promise<{ requestIds: number[]; messageIds: string[] }> {
  const requestIds: number[] = [];
  const messageIds: string[] = [];
  const requests: Pick<ThreadRequests, 'findForParticipant' | 'followMerges'> = {
    followMerges: (_m: EntityManager, ids: readonly number[]) => Promise.resolve([...new Set(ids)]),
    findForParticipant: (_m: EntityManager, id: number) => {
      requestIds.push(id);
      return Promise.resolve(null);
    },
  };
  const messages: Pick<ThreadMessages, 'requestIdsForMessageIds'> = {
    requestIdsForMessageIds: (_m: EntityManager, ids: string[]) => {
      messageIds.push(...ids);
      return Promise.resolve([]);
    },
  };
  const full = { subject: '', inReplyTo: null, references: [], ...mail } as ParsedMail;
  await expect(resolveThread(tx, full, CUSTOMER, requests, messages)).resolves.toEqual({
    kind: 'sender',
    previousRequestId: null,
  });
  return { requestIds, messageIds };
}

describe('thread resolution caps', () => {
  it(`looks up ${MAX_SUBJECT_TOKENS} requests for a subject of 100,000 tokens`, async () => {
    const subject = Array.from({ length: 100_000 }, (_, i) => `[#${i + 1}]`).join('');
    const { requestIds } = await lookups({ subject });
    expect(requestIds).toEqual(Array.from({ length: MAX_SUBJECT_TOKENS }, (_, i) => i + 1));
  });

  it(`looks up In-Reply-To and the last ${MAX_REFERENCES} References ids, newest first`, async () => {
    const references = Array.from({ length: MAX_REFERENCES + 1 }, (_, i) => `r${i}@example.com`);
    const { messageIds } = await lookups({ inReplyTo: 'parent@example.com', references });
    expect(messageIds).toEqual(['parent@example.com', ...references.slice(1).reverse()]);
  });
});

describe('requestSubject', () => {
  it("is the mail's subject trimmed, cut at MAX_SUBJECT_LENGTH characters, or NO_SUBJECT", () => {
    expect(requestSubject({ subject: '  Printer on fire ' })).toBe('Printer on fire');
    expect(requestSubject({ subject: 'é'.repeat(12_000) })).toBe('é'.repeat(MAX_SUBJECT_LENGTH));
    expect(requestSubject({ subject: '' })).toBe(NO_SUBJECT);
  });
});
