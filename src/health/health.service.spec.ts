import { jest } from '@jest/globals';
import { ServiceUnavailableException } from '@nestjs/common';
import type { ImapPollerService, MailboxPollerStatus } from '../inbound-mail/imap/imap-poller.service';
import type { OutboxService } from '../outbound-mail/outbox.service';
import type { HealthStore } from './health.repository';
import { HealthService } from './health.service';

/** A database that answers as told. */
class FakeDatabase implements HealthStore {
  ping: () => Promise<void> = () => Promise.resolve();
  pendingMigrations: () => Promise<boolean> = () => Promise.resolve(false);
}

const pollers: MailboxPollerStatus[] = [
  {
    mailboxId: 1,
    address: 'support@desk.test',
    isDefault: true,
    imap: true,
    state: 'active',
    leader: true,
    lastSuccessAt: new Date('2026-11-25T09:00:00Z'),
    lastError: null,
    lastErrorAt: null,
    backlog: 0,
  },
  {
    mailboxId: 2,
    address: 'billing@desk.test',
    isDefault: false,
    imap: true,
    state: 'needs_reauthorization',
    leader: false,
    lastSuccessAt: null,
    lastError: 'AUTHENTICATIONFAILED',
    lastErrorAt: new Date('2026-11-25T09:01:00Z'),
    backlog: null,
  },
];
const imap = {
  statuses: () => Promise.resolve(pollers),
  defaultStatus: (s: MailboxPollerStatus[]) => ({ enabled: true, ...s[0] }),
} as unknown as ImapPollerService;
const outbox = {
  backlog: () => Promise.resolve({ pending: 2, due: 1, failed: 0, oldestDueAt: new Date('2026-11-25T08:00:00Z') }),
} as unknown as OutboxService;

describe('HealthService readiness rules', () => {
  let database: FakeDatabase;
  let health: HealthService;
  beforeEach(() => {
    database = new FakeDatabase();
    health = new HealthService(database, imap, outbox);
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('is ready when the database answers and no migration is pending, with the pollers and the outbox', async () => {
    await expect(health.checkReady()).resolves.toEqual({
      status: 'ok',
      database: 'up',
      migrations: 'applied',
      imap: { enabled: true, leader: true, lastSuccessAt: '2026-11-25T09:00:00.000Z', lastError: null, backlog: 0 },
      mailboxes: [
        {
          id: 1,
          address: 'support@desk.test',
          isDefault: true,
          state: 'active',
          imap: true,
          leader: true,
          lastSuccessAt: '2026-11-25T09:00:00.000Z',
          lastError: null,
          backlog: 0,
        },
        {
          id: 2,
          address: 'billing@desk.test',
          isDefault: false,
          state: 'needs_reauthorization',
          imap: true,
          leader: false,
          lastSuccessAt: null,
          lastError: 'AUTHENTICATIONFAILED',
          backlog: null,
        },
      ],
      outbox: { pending: 2, due: 1, failed: 0, oldestDueAt: '2026-11-25T08:00:00.000Z' },
      replicas: [],
    });
  });

  it('answers 503 naming the database error', async () => {
    database.ping = () => Promise.reject(new Error('connection refused'));
    await expect(health.checkReady()).rejects.toThrow(
      new ServiceUnavailableException('database unreachable: connection refused'),
    );
  });

  it('answers 503 when the database does not answer within 3 seconds', async () => {
    jest.useFakeTimers();
    database.ping = () => new Promise(() => undefined);
    const ready = health.checkReady();
    jest.advanceTimersByTime(3000);
    await expect(ready).rejects.toThrow('database unreachable: no answer within 3000 ms');
  });

  it('answers 503 while migrations are pending or cannot be checked', async () => {
    database.pendingMigrations = () => Promise.resolve(true);
    await expect(health.checkReady()).rejects.toThrow('database migrations are pending');
    database.pendingMigrations = () => Promise.reject(new Error('no table'));
    await expect(health.checkReady()).rejects.toThrow('migrations could not be checked: no table');
  });
});
