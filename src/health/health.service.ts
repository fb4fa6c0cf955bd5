import { Inject, Injectable, Optional, ServiceUnavailableException } from '@nestjs/common';
import { ImapPollerService } from '../inbound-mail/imap/imap-poller.service';
import { OutboxService } from '../outbound-mail/outbox.service';
import { ReadReplicas } from '../replicas/read-replicas.service';
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

/**
 * Readiness: the database answers and every migration is applied; reports the pollers' state. A
 * mailbox in error or waiting for re-authorization is listed but does not make the instance
 * unready: the instance still serves the API and every other mailbox, and taking it out of the
 * load balancer would help nothing (`/metrics` and the mailbox's state are where to alert).
 */
@Injectable()
export class HealthService {
  constructor(
    @Inject(HealthRepository) private readonly database: HealthStore,
    private readonly imap: ImapPollerService,
    private readonly outbox: OutboxService,
    @Optional() private readonly replicas?: ReadReplicas,
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
    const [pollers, outbox] = await Promise.all([
      withTimeout(this.imap.statuses(), PROBE_TIMEOUT_MS),
      withTimeout(this.outbox.backlog(), PROBE_TIMEOUT_MS),
    ]);
    const imap = this.imap.defaultStatus(pollers);
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
      mailboxes: pollers.map((p) => ({
        id: p.mailboxId,
        address: p.address,
        isDefault: p.isDefault,
        state: p.state,
        imap: p.imap,
        leader: p.leader,
        lastSuccessAt: p.lastSuccessAt?.toISOString() ?? null,
        lastError: p.lastError,
        backlog: p.backlog,
      })),
      outbox: { ...outbox, oldestDueAt: outbox.oldestDueAt?.toISOString() ?? null },
      // As the background checks last saw them: never a query here, never unready for a replica.
      replicas: (this.replicas?.states() ?? []).map(({ name, healthy, lagMs, reason }) => ({
        name,
        healthy,
        lagMs,
        reason,
      })),
    };
  }
}
