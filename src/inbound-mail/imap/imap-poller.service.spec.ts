import type { SchedulerRegistry } from '@nestjs/schedule';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../config/config';
import type { InboundMailService } from '../inbound-mail.service';
import { backoffDelay, ImapPollerService } from './imap-poller.service';
import type { MailboxStore } from './mailbox.repository';

describe('backoffDelay', () => {
  it('starts at 1 s and doubles up to 60 s', async () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map(backoffDelay)).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000,
    ]);
  });
});

describe('ImapPollerService without IMAP_URL', () => {
  it('reports itself disabled and starts no loop or interval', async () => {
    const scheduler = {
      addInterval: () => {
        throw new Error('no interval expected');
      },
    } as unknown as SchedulerRegistry;
    const poller = new ImapPollerService(
      loadConfig({}),
      {} as DataSource,
      {} as InboundMailService,
      scheduler,
      {} as MailboxStore,
    );
    poller.onApplicationBootstrap();
    await poller.onModuleDestroy();
    expect(poller.status()).toEqual({
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
        ),
    ).toThrow(/user and a password/);
  });
});
