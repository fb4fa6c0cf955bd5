import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ImapPollerService } from '../inbound-mail/imap/imap-poller.service';
import { OutboxService } from '../outbound-mail/outbox.service';
import { ReadyResponseDto } from './health.dto';
import { HealthRepository, type HealthStore } from './health.repository';

/** How long a readiness probe waits for the database. */
const PROBE_TIMEOUT_MS = 3000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Readiness: the database answers and every migration is applied; reports the pollers' state. */
@Injectable()
export class HealthService {
  constructor(
    @Inject(HealthRepository) private readonly database: HealthStore,
    private readonly imap: ImapPollerService,
    private readonly outbox: OutboxService,
  ) {}

  /** The ready answer; 503 naming what is wrong otherwise. */
  async checkReady(): Promise<ReadyResponseDto> {
    try {
      await withTimeout(this.database.ping(), PROBE_TIMEOUT_MS);
    } catch (e) {
      throw new ServiceUnavailableException(`database unreachable: ${(e as Error).message}`);
    }
    let pending: boolean;
    try {
      pending = await withTimeout(this.database.pendingMigrations(), PROBE_TIMEOUT_MS);
    } catch (e) {
      throw new ServiceUnavailableException(`migrations could not be checked: ${(e as Error).message}`);
    }
    if (pending) throw new ServiceUnavailableException('database migrations are pending');
    const imap = this.imap.status();
    const outbox = await withTimeout(this.outbox.backlog(), PROBE_TIMEOUT_MS);
    return {
      status: 'ok',
      database: 'up',
      migrations: 'applied',
      imap: {
        enabled: imap.enabled,
        leader: imap.leader,
        lastSuccessAt: imap.lastSuccessAt?.toISOString() ?? null,
        lastError: imap.lastError,
        backlog: imap.backlog,
      },
      outbox: { ...outbox, oldestDueAt: outbox.oldestDueAt?.toISOString() ?? null },
    };
  }
}
