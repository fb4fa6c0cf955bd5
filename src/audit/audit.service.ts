import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { AuditEntry, AuditFilter, AuditRecord, AuditRepository } from './audit.repository';
import { redact } from './redact';

export type { AuditFilter } from './audit.repository';

/** Rows the retention job deletes per transaction: short transactions, no long lock on the table. */
export const PURGE_BATCH = 1_000;

/**
 * The audit log: appends rows (redacted: redact.ts), reads them for GET /audit, and deletes those
 * past AUDIT_RETENTION_DAYS. Nothing else ever changes a row (the table's trigger sees to it).
 */
@Injectable()
export class AuditService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: AuditRepository,
  ) {}

  /** Appends one row; before, after and data are redacted first. Resolves with its id. */
  async record(entry: AuditEntry): Promise<string> {
    return this.repository.insert({
      ...entry,
      before: redact(entry.before) ?? null,
      after: redact(entry.after) ?? null,
      data: redact(entry.data) ?? null,
    });
  }

  /** A change made by the CLI (`maildesk operator:create`): actor 'system', no HTTP request. */
  async recordSystem(command: string, data: unknown): Promise<string> {
    return this.record({
      actorOperatorId: null,
      actorEmail: null,
      actorRole: 'system',
      apiTokenId: null,
      ip: null,
      method: 'CLI',
      route: `maildesk ${command}`,
      action: `cli.${command.replace(/[^A-Za-z0-9]+/g, '_')}`,
      entity: 'cli',
      entityId: null,
      httpRequestId: null,
      statusCode: null,
      before: null,
      after: null,
      data,
    });
  }

  /** The current snapshot of an entity (null when it is gone or has none). */
  snapshot(entity: string, id: number): Promise<Record<string, unknown> | null> {
    return this.repository.snapshot(entity, id);
  }

  /** One page of the log, newest first. */
  list(filter: AuditFilter): Promise<AuditRecord[]> {
    return this.repository.list(filter);
  }

  /**
   * Every row matching `filter`, newest first, read a batch of `filter.limit` at a time (a keyset
   * walk: memory stays bounded however long the log): the CSV export.
   */
  async *walk(filter: AuditFilter): AsyncGenerator<AuditRecord[]> {
    let beforeId = filter.beforeId;
    for (;;) {
      const rows = await this.repository.list({ ...filter, beforeId });
      if (rows.length) yield rows;
      if (rows.length < filter.limit) return;
      beforeId = rows[rows.length - 1].id;
    }
  }

  /**
   * Deletes the rows older than AUDIT_RETENTION_DAYS, PURGE_BATCH per transaction, until none is
   * left; nothing when the retention is 0 (keep forever). Resolves with how many were deleted.
   */
  async purgeExpired(retentionDays = this.config.audit.retentionDays): Promise<number> {
    if (retentionDays <= 0) return 0;
    let total = 0;
    for (;;) {
      const n = await this.repository.purgeBatch(retentionDays, PURGE_BATCH);
      total += n;
      if (n < PURGE_BATCH) return total;
    }
  }
}
