import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { leasesHanding } from '../../test/fakes/leases';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../config/config';
import type { MailTransport } from './mail-transport';
import { MailboxUnavailableError } from '../mailboxes/mailbox';
import { mailboxRecord, MemoryMailboxDirectory } from '../../test/fakes/mailbox-directory';
import { MailboxLoginRefusedError } from './mail-transport';
import { MAILBOX_WAIT_MS, OutboxDispatcher } from './outbox.dispatcher';
import { OutboxMail } from './outbox.entity';
import type { OutboxStore } from './outbox.repository';

/** One claimed mail, as the lease queue hands it over (its attempt counted). */
function claimed(over: Partial<OutboxMail> = {}): OutboxMail {
  return Object.assign(new OutboxMail(), {
    id: '12',
    messageId: 58,
    kind: 'operator',
    toAddress: 'ada@example.test',
    fromAddress: 'help@desk.test',
    subject: 'Re: printer',
    headers: { 'Message-ID': '<md-1@desk.test>', From: 'help@desk.test', To: 'ada@example.test' },
    text: 'Fixed.',
    html: null,
    status: 'pending',
    attempts: 1,
    nextAttemptAt: new Date(),
    lockedUntil: new Date(),
    lastError: null,
    sentAt: null,
    createdAt: new Date(),
    mailboxId: null,
    ccAddresses: [],
    bccAddresses: [],
    attachmentIds: null,
    ...over,
  });
}

/** A dispatcher over one claimed mail, a transport that answers `send`, and what it recorded. */
function dispatcherFor(row: OutboxMail, send: () => Promise<unknown>, directory?: MemoryMailboxDirectory) {
  const leases = leasesHanding([row]);
  const files = [{ filename: 'a.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF') }];
  const store = {
    leases,
    attachmentsOf: jest.fn(() => Promise.resolve(files)),
    attachmentsByIds: jest.fn(() =>
      Promise.resolve([
        { filename: 'b.png', contentType: 'image/png', contentId: 'img1@desk.test', content: Buffer.from('PNG') },
      ]),
    ),
    wakeMailboxes: jest.fn(() => Promise.resolve(1)),
  };
  const transport = { send: jest.fn(send), describe: () => 'test', loginRefused: jest.fn(() => Promise.resolve()) };
  const dataSource = { query: () => Promise.resolve([{ version: 'PostgreSQL 17' }]) };
  const config = loadConfig({ OUTBOX_MAX_ATTEMPTS: '3', OUTBOX_RETRY_BASE_MS: '1000' });
  const dispatcher = new OutboxDispatcher(
    store as unknown as OutboxStore,
    config,
    transport as unknown as MailTransport,
    dataSource as unknown as DataSource,
    directory,
  );
  return { dispatcher, leases, store, transport };
}

const billing = mailboxRecord({ id: 2, address: 'billing@desk.test', smtpUrl: 'smtp://smtp.billing.test' });

const smtpError = (responseCode: number, response: string) =>
  Object.assign(new Error(response), { code: 'EENVELOPE', responseCode, response });

describe('OutboxDispatcher', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('sends an operator reply with the files of its message, and marks it sent', async () => {
    const { dispatcher, leases, store, transport } = dispatcherFor(claimed(), () => Promise.resolve({}));
    await expect(dispatcher.dispatchOnce()).resolves.toBe(1);
    expect(store.attachmentsOf).toHaveBeenCalledWith(58);
    const [options, id] = transport.send.mock.calls[0] as unknown as [{ attachments: unknown[] }, string];
    expect(id).toBe('12');
    expect(options.attachments).toEqual([
      { filename: 'a.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF') },
    ]);
    expect(leases.markDone).toHaveBeenCalledWith('12', undefined);
  });

  it('sends a forward with the files it names by id (inline ones by Content-ID), to every recipient once', async () => {
    const row = claimed({
      kind: 'forward',
      attachmentIds: [7],
      ccAddresses: ['bo@example.test', 'ada@example.test'],
      bccAddresses: ['audit@desk.test'],
      headers: { 'Message-ID': '<md-2@desk.test>', To: 'ada@example.test', Cc: '"Bo" <bo@example.test>' },
    });
    const { dispatcher, store, transport } = dispatcherFor(row, () => Promise.resolve({}));
    await dispatcher.dispatchOnce();
    expect(store.attachmentsByIds).toHaveBeenCalledWith([7]);
    expect(store.attachmentsOf).not.toHaveBeenCalled();
    const [options] = transport.send.mock.calls[0] as unknown as [
      { attachments: unknown[]; cc: string; envelope: { to: string[] }; headers: Record<string, string> },
    ];
    expect(options.attachments).toEqual([
      { filename: 'b.png', contentType: 'image/png', content: Buffer.from('PNG'), cid: 'img1@desk.test' },
    ]);
    expect(options.cc).toBe('"Bo" <bo@example.test>');
    expect(options.headers.Cc).toBeUndefined();
    expect(options.envelope.to).toEqual(['ada@example.test', 'bo@example.test', 'audit@desk.test']);
  });

  it('reads no files for an auto-reply', async () => {
    const { dispatcher, store } = dispatcherFor(claimed({ kind: 'auto_reply' }), () => Promise.resolve({}));
    await dispatcher.dispatchOnce();
    expect(store.attachmentsOf).not.toHaveBeenCalled();
  });

  it('fails a mail the server refused for good (5xx), with its answer', async () => {
    const answer = '550 5.1.1 <ada@example.test>: mailbox unavailable';
    const { dispatcher, leases } = dispatcherFor(claimed(), () => Promise.reject(smtpError(550, answer)));
    await dispatcher.dispatchOnce();
    expect(leases.markFailed).toHaveBeenCalledWith('12', `EENVELOPE: ${answer}`, undefined);
  });

  it('tries a mail again after a backoff on a 4xx answer, until its last attempt', async () => {
    const answer = '421 4.7.0 try again later';
    const first = dispatcherFor(claimed({ attempts: 1 }), () => Promise.reject(smtpError(421, answer)));
    await first.dispatcher.dispatchOnce();
    const [id, delay, error] = first.leases.retryIn.mock.calls[0] as unknown as [string, number, string];
    expect([id, error]).toEqual(['12', `EENVELOPE: ${answer}`]);
    expect(delay).toBeGreaterThanOrEqual(500);
    expect(delay).toBeLessThanOrEqual(1500);

    const last = dispatcherFor(claimed({ attempts: 3 }), () => Promise.reject(smtpError(421, answer)));
    await last.dispatcher.dispatchOnce();
    expect(last.leases.retryIn).not.toHaveBeenCalled();
    expect(last.leases.markFailed).toHaveBeenCalledWith('12', `EENVELOPE: ${answer}`, undefined);
  });

  it('lets the mail of a mailbox waiting for re-authorization wait: put back, its attempt given back, never failed', async () => {
    const row = claimed({ mailboxId: 2, attempts: 3 });
    const { dispatcher, leases, transport } = dispatcherFor(row, () =>
      Promise.reject(new MailboxUnavailableError(2, 'needs_reauthorization')),
    );
    await dispatcher.dispatchOnce();
    expect((transport.send.mock.calls[0] as unknown[])[2]).toBe(2);
    expect(leases.release).toHaveBeenCalledWith('12', MAILBOX_WAIT_MS, 'waiting: mailbox 2 is needs reauthorization');
    expect(leases.markFailed).not.toHaveBeenCalled();
    expect(leases.retryIn).not.toHaveBeenCalled();
  });

  it("tells the mailbox's credentials of a refused login (535) and tries the mail again later", async () => {
    const refused = Object.assign(new Error('Invalid login: 535 5.7.8 bad token'), {
      code: 'EAUTH',
      responseCode: 535,
      response: '535 5.7.8 bad token',
    });
    const error = new MailboxLoginRefusedError(billing, refused);
    const { dispatcher, leases, transport } = dispatcherFor(claimed({ mailboxId: 2 }), () => Promise.reject(error));
    await dispatcher.dispatchOnce();
    expect(transport.loginRefused).toHaveBeenCalledWith(error);
    const [id, , reason] = leases.retryIn.mock.calls[0] as unknown as [string, number, string];
    expect([id, reason]).toEqual(['12', 'EAUTH: 535 5.7.8 bad token']);
  });

  it('makes the waiting mail of a mailbox due again as soon as it can send (re-authorized), not for other changes', async () => {
    const waiting = mailboxRecord({ ...billing, state: 'needs_reauthorization', version: 4 });
    const support = mailboxRecord({ id: 1, address: 'help@desk.test', isDefault: true });
    const directory = new MemoryMailboxDirectory([support, waiting]);
    const { dispatcher, store } = dispatcherFor(claimed(), () => Promise.resolve({}), directory);
    dispatcher.onApplicationBootstrap();
    await new Promise((r) => setImmediate(r));
    directory.change({ ...waiting, version: 5, lastError: 'still waiting' });
    await new Promise((r) => setImmediate(r));
    expect(store.wakeMailboxes).not.toHaveBeenCalled();
    directory.change({ ...waiting, state: 'active', version: 6 });
    await new Promise((r) => setImmediate(r));
    expect(store.wakeMailboxes).toHaveBeenCalledWith([2], false);
    await dispatcher.stop();
  });
});
