import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { nameTransactionStatements } from '../database/prepared';
import { InboundMail, InboundSource } from './inbound-mail.entity';
import { MAX_SUBJECT_LENGTH } from '../common/subject';

/** The statements of the inbound_mail table (written to inbound-mail.repository.sql by `npm run sql`). */
export const SQL = {
  claim: `INSERT INTO inbound_mail (source, dedupe_key, message_id, from_address, subject, size, raw_sha256, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'appended')
       ON CONFLICT (dedupe_key) DO UPDATE SET status = 'appended', attempts = inbound_mail.attempts + 1,
         source = EXCLUDED.source, message_id = EXCLUDED.message_id, from_address = EXCLUDED.from_address,
         subject = EXCLUDED.subject, size = EXCLUDED.size, raw = NULL, raw_sha256 = EXCLUDED.raw_sha256
         WHERE inbound_mail.status = 'quarantined'
       RETURNING id`,
  record: `UPDATE inbound_mail SET status = $2, reason = $3, request_id = $4, message_row_id = $5, processed_at = clock_timestamp()
           WHERE id = $1`,
  quarantine: `INSERT INTO inbound_mail (source, dedupe_key, message_id, from_address, subject, size, raw_sha256, status, reason, processed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'quarantined', $8, clock_timestamp())
       ON CONFLICT (dedupe_key) DO UPDATE SET attempts = inbound_mail.attempts + 1, reason = EXCLUDED.reason,
         processed_at = EXCLUDED.processed_at
         WHERE inbound_mail.status = 'quarantined'
       RETURNING id`,
  requestOf: `SELECT request_id FROM inbound_mail WHERE dedupe_key = $1`,
  markReplayed: `UPDATE inbound_mail SET status = 'replayed', processed_at = clock_timestamp() WHERE id = $1 AND status = 'quarantined'`,
} as const;

/** The longest reason kept (the raw mail has the mail whole). */
const MAX_REASON = 2000;

/** A raw mail as inbound_mail keeps it: under its dedupe key, with what was read of its header. */
export interface RawMail {
  source: InboundSource;
  dedupeKey: string;
  messageId: string | null;
  fromAddress: string | null;
  subject: string | null;
  /** The raw mail's size in bytes. */
  size: number;
  /** The raw mail's blob, written to the blob store before the row names it (BlobsService.put). */
  rawSha256: string;
}

/** $1 to $7 of `claim` and `quarantine`: the raw mail and what was read of its header. */
function rawMailParams(mail: RawMail): unknown[] {
  const subject = mail.subject?.slice(0, MAX_SUBJECT_LENGTH) ?? null;
  return [mail.source, mail.dedupeKey, mail.messageId, mail.fromAddress, subject, mail.size, mail.rawSha256];
}

/** What became of a claimed mail, recorded on its row when its transaction commits. */
export interface InboundOutcome {
  status: 'created' | 'appended' | 'ignored';
  reason: string | null;
  requestId: number | null;
  messageRowId: number | null;
}

/** A quarantined mail as replay reads it. */
export type ReplayableMail = Pick<InboundMail, 'id' | 'status' | 'raw' | 'rawSha256' | 'rawExpiredAt' | 'source'>;

/** What the ingest pipeline needs of storage (InboundMailService; an in-memory fake in unit tests). */
export interface InboundMailStore {
  /**
   * Runs `work` in one transaction and commits what it returns; a throw rolls it back. PostgreSQL's
   * default READ COMMITTED (not named: TypeORM would spend a round trip on SET TRANSACTION).
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  /**
   * Inserts the raw mail under its dedupe key as `appended`, first thing in the ingest transaction:
   * a concurrent copy waits here for this one to commit, then finds the key taken. A quarantined
   * copy is taken over, and the row then keeps the bytes that were processed (a retry may differ
   * from a broken copy). The row's id, or null when a processed copy holds the key.
   */
  claim(mail: RawMail, manager?: EntityManager): Promise<string | null>;
  /** Records what became of a claimed mail (in the claim's transaction). */
  record(id: string, outcome: InboundOutcome, manager?: EntityManager): Promise<void>;
  /**
   * Keeps the raw mail as `quarantined` with the reason (a quarantined copy is counted and gets the
   * new reason). False when a processed copy holds the key.
   */
  quarantine(mail: RawMail, reason: string): Promise<boolean>;
  /** The request the mail stored under this key went on, or null. */
  requestOf(dedupeKey: string): Promise<number | null>;
  /** Quarantined mail, newest first, without the raw bytes. */
  listQuarantined(page: number, limit: number): Promise<{ items: InboundMail[]; total: number }>;
  /** One stored mail with its raw bytes (old rows) or its raw mail's blob, or null. */
  findForReplay(id: string): Promise<ReplayableMail | null>;
  /** Marks a quarantined mail replayed (it was stored under another key). */
  markReplayed(id: string): Promise<void>;
}

/** The inbound_mail table: every raw email received, with what became of it. */
@Injectable()
export class InboundMailRepository implements InboundMailStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Its statements as named prepared statements (nameTransactionStatements: PostgreSQL parses each once per connection). */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await nameTransactionStatements(manager);
      return work(manager);
    });
  }

  async claim(mail: RawMail, manager: EntityManager = this.dataSource.manager): Promise<string | null> {
    const rows: Array<{ id: string }> = await manager.query(SQL.claim, rawMailParams(mail));
    return rows[0]?.id ?? null;
  }

  async record(id: string, outcome: InboundOutcome, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await manager.query(SQL.record, [id, outcome.status, outcome.reason, outcome.requestId, outcome.messageRowId]);
  }

  async quarantine(mail: RawMail, reason: string): Promise<boolean> {
    const rows: Array<{ id: string }> = await this.dataSource.query(SQL.quarantine, [
      ...rawMailParams(mail),
      reason.slice(0, MAX_REASON),
    ]);
    return rows.length > 0;
  }

  async requestOf(dedupeKey: string): Promise<number | null> {
    const rows: Array<{ request_id: number | null }> = await this.dataSource.query(SQL.requestOf, [dedupeKey]);
    return rows[0]?.request_id ?? null;
  }

  async listQuarantined(page: number, limit: number): Promise<{ items: InboundMail[]; total: number }> {
    const [items, total] = await this.dataSource.manager.findAndCount(InboundMail, {
      where: { status: 'quarantined' },
      order: { id: 'DESC' },
      skip: (page - 1) * limit,
      take: limit,
    });
    return { items, total };
  }

  findForReplay(id: string): Promise<ReplayableMail | null> {
    return this.dataSource.manager.findOne(InboundMail, {
      where: { id },
      select: { id: true, status: true, raw: true, rawSha256: true, rawExpiredAt: true, source: true },
    });
  }

  async markReplayed(id: string): Promise<void> {
    await this.dataSource.query(SQL.markReplayed, [id]);
  }
}
