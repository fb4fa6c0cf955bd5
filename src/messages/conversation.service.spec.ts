import { BadRequestException, ConflictException, Logger, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { MemoryDesk } from '../../test/fakes/memory-desk';
import { MemoryParticipants } from '../../test/fakes/memory-participants';
import { MemorySavedReplies } from '../../test/fakes/memory-saved-replies';
import type { AuthOperator } from '../common/auth.decorators';
import { loadConfig } from '../config/config';
import { TemplatesService } from '../outbound-mail/templates.service';
import { ParticipantsService } from '../requests/participants.service';
import { SavedRepliesService } from '../saved-replies/saved-replies.service';
import { WEBHOOK_TEXT_LIMIT } from '../webhooks/webhook-events';
import { DetailedHttpException } from '../common/detailed-http.exception';
import { ConversationService, STALE_WRITE_LISTED } from './conversation.service';
import { MessagesService } from './messages.service';

const MANAGER = {} as EntityManager;
const GRACE: AuthOperator = { id: 2, email: 'grace@desk.example', name: 'Grace', role: 'operator', groupIds: [] };

describe('ConversationService rules', () => {
  let desk: MemoryDesk;
  let messages: MessagesService;
  let conversation: ConversationService;
  let replies: MemorySavedReplies;

  // Each suppressed answer is logged; the events say the same here.
  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    desk = new MemoryDesk();
    replies = new MemorySavedReplies();
    messages = new MessagesService(desk, desk.outbox);
    const config = loadConfig({
      SUPPORT_ADDRESS: 'help@desk.example',
      SUPPORT_NAME: 'Desk Help',
      JWT_SECRET: 'a-test-secret-of-32-characters!!',
      PUBLIC_URL: 'https://desk.example',
      AUTO_REPLY_LIMIT_PER_HOUR: '2',
    });
    conversation = new ConversationService(
      desk,
      config,
      desk,
      messages,
      desk.outbox,
      new TemplatesService(config),
      desk.webhooks,
      new SavedRepliesService(replies),
    );
  });

  /** The customer's mail on request `requestId`, as the inbound pipeline appends it. */
  function customerMail(requestId: number, messageId: string, references: string[] = []) {
    return messages.append(MANAGER, {
      requestId,
      direction: 'in',
      kind: 'customer',
      fromAddress: desk.requests.get(requestId)!.customer.email,
      to: ['help@desk.example'],
      subject: desk.requests.get(requestId)!.subject,
      text: 'Hello',
      messageId,
      references,
    });
  }

  describe('auto-replies', () => {
    it('stores the answer as an auto_reply message, threaded under the customer mail, and queues it marked automatic', async () => {
      desk.addRequest({
        id: 10,
        subject: 'Re: [#10] Printer',
        customer: { email: 'ann@example.com', name: 'Ann', blocked: false },
      });
      await customerMail(10, 'first@example.com');
      await customerMail(10, 'second@example.com', ['root@example.com', 'first@example.com']);

      await expect(conversation.sendAutoReply(MANAGER, 10, 'assigned', { operatorName: 'Grace' })).resolves.toBe(true);

      const reply = desk.messages[2];
      expect(reply).toMatchObject({
        requestId: 10,
        seq: 3,
        direction: 'out',
        kind: 'auto_reply',
        fromAddress: 'help@desk.example',
        fromName: 'Desk Help',
        toAddresses: ['ann@example.com'],
        inReplyTo: 'second@example.com',
        references: ['root@example.com', 'first@example.com', 'second@example.com'],
      });
      expect(reply.subject).toContain('[#10]');
      expect(reply.subject).toContain('Printer');
      expect(reply.subject).not.toMatch(/Re:/);
      expect(reply.text).toContain('Grace');
      expect(desk.mails).toEqual([
        expect.objectContaining({
          kind: 'auto_reply',
          to: 'ann@example.com',
          subject: reply.subject,
          messageId: reply.messageId,
          inReplyTo: 'second@example.com',
          autoReply: true,
          messageRowId: reply.id,
        }),
      ]);
      expect(desk.eventsOf(10, 'auto_reply_sent')).toEqual([
        { requestId: 10, type: 'auto_reply_sent', actor: 'system', data: { event: 'assigned', messageId: reply.id } },
      ]);
      // An automatic answer is neither searchable nor the request's first response.
      expect(desk.requests.get(10)).toMatchObject({ firstResponseAt: null });
      expect(desk.requests.get(10)!.searchText).toHaveLength(2);
    });

    it('starts a thread of its own when the customer never wrote, and puts the rating links in the closing mail', async () => {
      desk.addRequest({ id: 10 });
      await conversation.sendAutoReply(MANAGER, 10, 'closed', { operatorName: 'Grace' });
      expect(desk.messages[0]).toMatchObject({ inReplyTo: null, references: [] });
      expect(desk.messages[0].text).toContain('https://desk.example/');
    });

    it.each([
      ['our own address', 'help@desk.example'],
      ['automatic or no-reply address', 'no-reply@example.com'],
      ['automatic or no-reply address', 'NoReply+tracking@example.com'],
      ['automatic or no-reply address', 'do-not-reply@example.com'],
      ['automatic or no-reply address', 'MAILER-DAEMON@example.com'],
      ['automatic or no-reply address', 'postmaster@example.com'],
      ['automatic or no-reply address', 'bounces-42@lists.example.com'],
    ])('never answers %s (%s): no message, no mail, an auto_reply_suppressed event', async (reason, email) => {
      desk.addRequest({ id: 10, customer: { email, name: null, blocked: false } });
      await expect(conversation.sendAutoReply(MANAGER, 10, 'created')).resolves.toBe(false);
      expect([desk.messages, desk.mails]).toEqual([[], []]);
      expect(desk.eventsOf(10)).toEqual([
        { requestId: 10, type: 'auto_reply_suppressed', actor: 'system', data: { event: 'created', reason } },
      ]);
    });

    it('answers addresses that only look automatic', async () => {
      for (const [id, email] of [
        'noreplyfan@example.com',
        'replies@example.com',
        'info@bounces.example.com',
      ].entries()) {
        desk.addRequest({ id, customer: { email, name: null, blocked: false } });
        await expect(conversation.sendAutoReply(MANAGER, id, 'created')).resolves.toBe(true);
      }
    });

    it('never answers a blocked customer', async () => {
      desk.addRequest({ id: 10, customer: { email: 'ann@example.com', name: null, blocked: true } });
      await expect(conversation.sendAutoReply(MANAGER, 10, 'created')).resolves.toBe(false);
      expect(desk.eventsOf(10)[0].data).toEqual({ event: 'created', reason: 'customer is blocked' });
    });

    it('stops at AUTO_REPLY_LIMIT_PER_HOUR answers to one address in the last hour, and says so', async () => {
      desk.addRequest({ id: 10, customer: { email: 'ann@example.com', name: null, blocked: false } });
      desk.addRequest({ id: 11, customer: { email: 'Ann@Example.com', name: null, blocked: false } });
      await expect(conversation.sendAutoReply(MANAGER, 10, 'created')).resolves.toBe(true);
      await expect(conversation.sendAutoReply(MANAGER, 10, 'assigned')).resolves.toBe(true);
      await expect(conversation.sendAutoReply(MANAGER, 11, 'created')).resolves.toBe(false);
      expect(desk.eventsOf(11)[0].data).toEqual({
        event: 'created',
        reason: 'rate limit: 2 auto-replies to this address in the last hour (limit 2)',
      });
      // Answers older than an hour no longer count.
      for (const m of desk.mails) m.at = new Date(Date.now() - 3601_000);
      await expect(conversation.sendAutoReply(MANAGER, 11, 'created')).resolves.toBe(true);
    });

    it('throws for a request that does not exist', async () => {
      await expect(conversation.sendAutoReply(MANAGER, 99, 'created')).rejects.toBeInstanceOf(NotFoundException);
    });
  });

  describe('an operator writing to the customer', () => {
    it('stores the message as the first response, mails it in the thread, and says so in the history and a webhook', async () => {
      desk.addRequest({
        id: 10,
        subject: 'RE: Fwd: [#10] Printer',
        customer: { email: 'ann@example.com', name: null, blocked: false },
      });
      await customerMail(10, 'first@example.com');
      const file = {
        filename: 'log.txt',
        contentType: 'text/plain',
        size: 2,
        sha256: 'x',
        contentId: null,
        content: Buffer.from('ok'),
      };

      const view = await conversation.postOperatorMessage(10, GRACE, { text: 'On it', attachments: [file] });

      expect(view.message).toMatchObject({
        seq: 2,
        direction: 'out',
        kind: 'operator',
        operatorId: GRACE.id,
        fromAddress: 'help@desk.example',
        fromName: 'Grace',
        toAddresses: ['ann@example.com'],
        subject: 'Re: [#10] Printer',
        inReplyTo: 'first@example.com',
        references: ['first@example.com'],
      });
      expect(view.attachments).toMatchObject([{ filename: 'log.txt', messageId: view.message.id }]);
      expect(view.delivery).toMatchObject({ status: 'pending' });
      expect(desk.mails).toEqual([
        expect.objectContaining({
          kind: 'operator',
          to: 'ann@example.com',
          subject: 'Re: [#10] Printer',
          messageRowId: view.message.id,
        }),
      ]);
      expect(desk.mails[0].autoReply).toBeUndefined();
      expect(desk.requests.get(10)!.firstResponseAt).toBeInstanceOf(Date);
      expect(desk.requests.get(10)!.searchText[1]).toBe('Re: [#10] Printer On it');
      expect(desk.eventsOf(10, 'message')).toEqual([
        {
          requestId: 10,
          type: 'message',
          actor: 'operator',
          operatorId: GRACE.id,
          data: { messageId: view.message.id, direction: 'out' },
        },
      ]);
      expect(desk.webhookEvents).toEqual([
        {
          event: 'message.sent',
          data: {
            requestId: 10,
            messageId: view.message.id,
            operatorId: GRACE.id,
            operatorName: 'Grace',
            to: 'ann@example.com',
            cc: [],
            subject: 'Re: [#10] Printer',
            text: 'On it',
            attachments: ['log.txt'],
          },
        },
      ]);
    });

    it('cuts the text a webhook carries at WEBHOOK_TEXT_LIMIT', async () => {
      desk.addRequest({ id: 10 });
      const text = 'x'.repeat(WEBHOOK_TEXT_LIMIT + 10);
      await conversation.postOperatorMessage(10, GRACE, { text });
      expect(desk.webhookEvents[0].data.text).toHaveLength(WEBHOOK_TEXT_LIMIT);
      expect(desk.messages[0].text).toBe(text);
    });

    it('starts the message with a saved reply, variables filled in (escaped in the html), and signs the mail only', async () => {
      desk.addRequest({
        id: 10,
        subject: 'Printer',
        customer: { email: 'ann@example.com', name: 'Ann <3', blocked: false },
      });
      const reply = await replies.insert({
        name: 'Hi',
        text: 'Hello {{customer.name}}, #{{request.id}}',
        groupId: null,
        createdBy: 1,
      });
      replies.signatures.set(GRACE.id, 'Grace, Support');
      await conversation.postOperatorMessage(10, GRACE, { savedReplyId: reply!.id });
      await conversation.postOperatorMessage(10, GRACE, { savedReplyId: reply!.id, text: 'More', html: '<p>More</p>' });
      expect(desk.messages.map((m) => [m.text, m.html])).toEqual([
        ['Hello Ann <3, #10', null],
        ['Hello Ann <3, #10\n\nMore', '<p>Hello Ann &lt;3, #10</p><p>More</p>'],
      ]);
      expect(desk.mails.map((m) => m.operatorSignature)).toEqual(['Grace, Support', 'Grace, Support']);
    });

    it('sanitizes operator html (stored and mailed), makes the text alternative, keeps saved replies working', async () => {
      desk.addRequest({
        id: 10,
        subject: 'Printer',
        customer: { email: 'ann@example.com', name: 'Ann', blocked: false },
      });
      await conversation.postOperatorMessage(10, GRACE, {
        html: '<p onclick="x()">Hello <b>Ann</b><script>alert(1)</script></p><img src="https://cdn.example/logo.png">',
      });
      const reply = await replies.insert({ name: 'Hi', text: 'Hi {{customer.name}}', groupId: null, createdBy: 1 });
      await conversation.postOperatorMessage(10, GRACE, { savedReplyId: reply!.id, html: '<p>See <i>this</i></p>' });
      expect(desk.messages.map((m) => [m.text, m.html, m.safeHtml])).toEqual([
        [
          'Hello Ann',
          '<p>Hello <b>Ann</b></p><img src="https://cdn.example/logo.png" />',
          '<p>Hello <b>Ann</b></p><img data-remote-src="https://cdn.example/logo.png" />',
        ],
        ['Hi Ann\n\nSee this', '<p>Hi Ann</p><p>See <i>this</i></p>', '<p>Hi Ann</p><p>See <i>this</i></p>'],
      ]);
      expect(desk.mails.map((m) => [m.text, m.html])).toEqual(desk.messages.map((m) => [m.text, m.html]));
    });

    it('gives an uploaded file the html shows by cid:<filename> a Content-ID; an unknown cid is a 400', async () => {
      desk.addRequest({ id: 10 });
      const file = (filename: string) => ({
        filename,
        contentType: 'image/png',
        size: 3,
        sha256: 'x',
        contentId: null,
        content: Buffer.from('png'),
      });
      await conversation.postOperatorMessage(10, GRACE, {
        html: '<p>Here:</p><img src="cid:chart.png" alt="chart">',
        attachments: [file('chart.png'), file('report.pdf')],
      });
      const stored = desk.messages[0];
      const files = desk.attachments.filter((a) => a.messageId === stored.id);
      const cid = files[0].contentId!;
      expect(cid).toMatch(/^[0-9a-f-]{36}@maildesk$/);
      expect(files[1].contentId).toBeNull();
      expect(stored.html).toBe(`<p>Here:</p><img alt="chart" src="cid:${cid}" />`);
      await expect(
        conversation.postOperatorMessage(10, GRACE, { html: '<img src="cid:nope.png">', attachments: [file('a.png')] }),
      ).rejects.toBeInstanceOf(BadRequestException);
      expect(desk.messages).toHaveLength(1);
    });

    it('answers 404 for a saved reply the operator does not see, writing nothing', async () => {
      desk.addRequest({ id: 10 });
      const reply = await replies.insert({ name: 'Hi', text: 'Hello', groupId: 5, createdBy: 1 });
      await expect(conversation.postOperatorMessage(10, GRACE, { savedReplyId: reply!.id })).rejects.toBeInstanceOf(
        NotFoundException,
      );
      expect([desk.messages, desk.mails]).toEqual([[], []]);
    });

    it('refuses a closed request (409) and an unknown one (404), writing nothing', async () => {
      desk.addRequest({ id: 10, status: 'closed' });
      await expect(conversation.postOperatorMessage(10, GRACE, { text: 'Hi' })).rejects.toThrow(
        new ConflictException('request 10 is closed'),
      );
      await expect(conversation.postOperatorMessage(11, GRACE, { text: 'Hi' })).rejects.toBeInstanceOf(
        NotFoundException,
      );
      expect([desk.messages, desk.mails, desk.events, desk.webhookEvents]).toEqual([[], [], [], []]);
    });
  });

  describe('participants, Cc and Bcc', () => {
    let participants: MemoryParticipants;

    beforeEach(() => {
      const config = loadConfig({
        SUPPORT_ADDRESS: 'help@desk.example',
        JWT_SECRET: 'a-test-secret-of-32-characters!!',
        PUBLIC_URL: 'https://desk.example',
      });
      participants = new MemoryParticipants(new Map([[10, 'ann@example.com']]));
      conversation = new ConversationService(
        desk,
        config,
        desk,
        messages,
        desk.outbox,
        new TemplatesService(config),
        desk.webhooks,
        new SavedRepliesService(replies),
        new ParticipantsService(
          participants,
          {
            findById: (id: number) => desk.findById(id),
            insertEvent: (id, event) => desk.addEvent(MANAGER, id, event),
          },
          config,
        ),
      );
      desk.addRequest({
        id: 10,
        subject: 'Printer',
        customer: { email: 'ann@example.com', name: 'Ann', blocked: false },
      });
      participants.rows.set(10, [{ email: 'bob@example.com', name: 'Bob', source: 'mail' }]);
    });

    it("Cc's the participants by default, with their names; the stored message and the webhook say so", async () => {
      const view = await conversation.postOperatorMessage(10, GRACE, { text: 'On it' });
      expect(view.message).toMatchObject({ toAddresses: ['ann@example.com'], ccAddresses: ['bob@example.com'] });
      expect(desk.mails[0]).toMatchObject({
        to: 'ann@example.com',
        cc: [{ address: 'bob@example.com', name: 'Bob' }],
        bcc: [],
      });
      expect(desk.webhookEvents[0].data).toMatchObject({ cc: ['bob@example.com'] });
      expect(desk.webhookEvents[0].data).not.toHaveProperty('bcc');
    });

    it('sends to the customer only with cc: [], and a Bcc to the envelope only, never a participant', async () => {
      const view = await conversation.postOperatorMessage(10, GRACE, { text: 'x', cc: [], bcc: ['audit@example.com'] });
      expect(view.message).toMatchObject({ ccAddresses: [], bccAddresses: ['audit@example.com'] });
      expect(desk.mails[0]).toMatchObject({ cc: [], bcc: ['audit@example.com'] });
      await expect(participants.list(10)).resolves.toEqual([{ email: 'bob@example.com', name: 'Bob' }]);
    });

    it("makes an address Cc'd by hand a participant, with an event by the operator", async () => {
      await conversation.postOperatorMessage(10, GRACE, { text: 'x', cc: ['cy@example.com'] });
      expect(desk.mails[0].cc).toEqual([{ address: 'cy@example.com', name: null }]);
      await expect(participants.list(10)).resolves.toEqual([
        { email: 'bob@example.com', name: 'Bob' },
        { email: 'cy@example.com', name: null },
      ]);
      expect(desk.eventsOf(10, 'participants_added')).toEqual([
        expect.objectContaining({ actor: 'operator', operatorId: GRACE.id, data: { emails: ['cy@example.com'] } }),
      ]);
    });

    it('refuses our own address, the customer, and one address in both Cc and Bcc, sending nothing', async () => {
      for (const input of [
        { cc: ['help@desk.example'] },
        { bcc: ['help@desk.example'] },
        { cc: ['ann@example.com'] },
        { cc: ['cy@example.com'], bcc: ['cy@example.com'] },
        { bcc: ['bob@example.com'] },
      ])
        await expect(conversation.postOperatorMessage(10, GRACE, { text: 'x', ...input })).rejects.toThrow(
          BadRequestException,
        );
      expect(desk.mails).toHaveLength(0);
      expect(desk.messages).toHaveLength(0);
    });

    it('sends auto-replies to the customer only', async () => {
      await conversation.sendAutoReply(MANAGER, 10, 'created');
      expect(desk.mails[0]).toMatchObject({ to: 'ann@example.com' });
      expect(desk.mails[0].cc ?? []).toEqual([]);
    });
  });

  describe('collision detection (lastSeenMessageId)', () => {
    const ADA: AuthOperator = { id: 3, email: 'ada@desk.example', name: 'Ada', role: 'operator', groupIds: [] };

    /** A note by `who` on request 10, appended as NotesService does. */
    function note(who: AuthOperator, text: string) {
      return messages.append(MANAGER, {
        requestId: 10,
        direction: 'out',
        kind: 'note',
        operatorId: who.id,
        fromAddress: who.email,
        fromName: who.name,
        to: [],
        subject: 'note',
        text,
        messageId: `note-${text}@desk.example`,
      });
    }

    beforeEach(async () => {
      desk.addRequest({ id: 10, customer: { email: 'ann@example.com', name: 'Ann', blocked: false } });
      await customerMail(10, 'first@example.com');
    });

    it('sends when nothing was written since the message seen, or only by the operator or the desk itself', async () => {
      const first = desk.messages[0].id;
      await conversation.postOperatorMessage(10, GRACE, { text: 'One', lastSeenMessageId: first });
      await note(GRACE, 'mine');
      await conversation.sendAutoReply(MANAGER, 10, 'assigned', { operatorName: 'Grace' });
      await conversation.postOperatorMessage(10, GRACE, { text: 'Two', lastSeenMessageId: first });
      expect(desk.mails.filter((m) => m.kind === 'operator')).toHaveLength(2);
    });

    it('refuses (409, nothing stored or sent) when the customer or another operator wrote since, listing what arrived', async () => {
      const first = desk.messages[0].id;
      await customerMail(10, 'second@example.com');
      await note(ADA, 'called her');
      const before = { messages: desk.messages.length, mails: desk.mails.length, events: desk.events.length };

      const err: unknown = await conversation
        .postOperatorMessage(10, GRACE, { text: 'Stale', lastSeenMessageId: first })
        .catch((e: unknown) => e);

      expect(err).toBeInstanceOf(DetailedHttpException);
      const e = err as DetailedHttpException;
      expect(e.getStatus()).toBe(409);
      expect(e.message).toMatch(/2 messages were written on request 10 since message/);
      expect(e.details).toEqual({
        newMessageCount: 2,
        newMessages: [
          expect.objectContaining({ seq: 2, kind: 'customer', from: 'ann@example.com', operatorId: null }),
          expect.objectContaining({ seq: 3, kind: 'note', from: ADA.email, fromName: 'Ada', operatorId: ADA.id }),
        ],
      });
      expect({ messages: desk.messages.length, mails: desk.mails.length, events: desk.events.length }).toEqual(before);

      // Having read them, the operator sends.
      const latest = desk.messages[desk.messages.length - 1].id;
      await conversation.postOperatorMessage(10, GRACE, { text: 'Fresh', lastSeenMessageId: latest });
      expect(desk.mails).toHaveLength(before.mails + 1);
    });

    it('lists at most STALE_WRITE_LISTED messages but counts them all', async () => {
      const first = desk.messages[0].id;
      for (let i = 0; i < STALE_WRITE_LISTED + 5; i++) await customerMail(10, `m${i}@example.com`);
      const err = (await conversation
        .postOperatorMessage(10, GRACE, { text: 'Stale', lastSeenMessageId: first })
        .catch((e: unknown) => e)) as DetailedHttpException;
      expect(err.details.newMessageCount).toBe(STALE_WRITE_LISTED + 5);
      expect(err.details.newMessages).toHaveLength(STALE_WRITE_LISTED);
    });

    it('answers 400 for a message of another request or none, and checks nothing without lastSeenMessageId', async () => {
      desk.addRequest({ id: 11 });
      await customerMail(11, 'other@example.com');
      const other = desk.messages[desk.messages.length - 1].id;
      await expect(
        conversation.postOperatorMessage(10, GRACE, { text: 'x', lastSeenMessageId: other }),
      ).rejects.toBeInstanceOf(BadRequestException);
      await expect(
        conversation.postOperatorMessage(10, GRACE, { text: 'x', lastSeenMessageId: 9999 }),
      ).rejects.toBeInstanceOf(BadRequestException);
      await customerMail(10, 'later@example.com');
      await expect(conversation.postOperatorMessage(10, GRACE, { text: 'x' })).resolves.toBeDefined();
    });

    it('answers 404 before looking at the conversation for a request the operator does not see', async () => {
      desk.requests.get(10)!.groupId = 5;
      const grouped = { ...GRACE, groupIds: [4] };
      await expect(
        conversation.postOperatorMessage(10, grouped, { text: 'x', lastSeenMessageId: 9999 }),
      ).rejects.toBeInstanceOf(NotFoundException);
    });
  });
});
