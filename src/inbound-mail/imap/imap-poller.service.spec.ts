import type { SchedulerRegistry } from '@nestjs/schedule';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../config/config';
import type { InboundMailService } from '../inbound-mail.service';
import type { MailboxCredentials } from '../../mailboxes/mailbox';
import { backoffDelay, ImapPollerService, type PollerDirectory } from './imap-poller.service';
import type { MailboxStore } from './mailbox.repository';

describe('backoffDelay', () => {
  it('starts at 1 s and doubles up to 60 s', async () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map(backoffDelay)).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000,
    ]);
  });
});

/** A directory of one default mailbox without IMAP. */
const directory = {
  fresh: async () => [{ id: 1, address: 'support@desk.test', isDefault: true, imapUrl: null, state: 'active' }],
  onChange: () => () => undefined,
} as unknown as PollerDirectory;

describe('ImapPollerService without IMAP_URL', () => {
  it('reports the default mailbox not polled; starts nothing in the CLI (no workers)', async () => {
    const scheduler = {
      addInterval: () => {
        throw new Error('no interval expected');
      },
    } as unknown as SchedulerRegistry;
    const poller = new ImapPollerService(
      { ...loadConfig({}), workers: false },
      {} as DataSource,
      {} as InboundMailService,
      scheduler,
      {} as MailboxStore,
      directory,
      {} as MailboxCredentials,
    );
    poller.onApplicationBootstrap();
    await poller.onModuleDestroy();
    expect(await poller.status()).toEqual({
      enabled: false,
      leader: false,
      lastSuccessAt: null,
      lastError: null,
      lastErrorAt: null,
      backlog: null,
    });
  });

  it('refuses an IMAP_URL without credentials at construction', async () => {
    const config = loadConfig({ IMAP_URL: 'imap://mail.test/INBOX' });
    expect(
      () =>
        new ImapPollerService(
          config,
          {} as DataSource,
          {} as InboundMailService,
          {} as SchedulerRegistry,
          {} as MailboxStore,
          directory,
          {} as MailboxCredentials,
        ),
    ).toThrow(/user and a password/);
  });
});
