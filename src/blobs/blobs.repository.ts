import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** The statements of the blobs table, the sweeper and retention (written to blobs.repository.sql by `npm run sql`). */
export const SQL = {
  /**
   * A writer's mark, in its own short statement before it writes the objects: the rows exist (or
   * are touched again), so the sweeper's grace counts from now; it waits for a sweeper holding one
   * of them (which then deleted it: the row is inserted again, and the object written after).
   */
  touch: `INSERT INTO blobs (sha256, size)
    SELECT h, s FROM unnest($1::text[], $2::bigint[]) AS t(h, s) ORDER BY h
    ON CONFLICT (sha256) DO UPDATE SET touched_at = clock_timestamp()`,
  /**
   * The sweeper's batch, in its transaction: blobs touched before the grace that no row names,
   * locked (a row a writer is touching or naming is skipped, never waited for); the caller
   * deletes their objects, then commits. The foreign keys of attachments and inbound_mail make a
   * row that names one committed meanwhile fail this statement instead (the batch is retried later).
   */
  sweep: `DELETE FROM blobs WHERE sha256 IN (
      SELECT b.sha256 FROM blobs b
      WHERE b.touched_at < clock_timestamp() - make_interval(secs => $1::double precision)
        AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = b.sha256)
        AND NOT EXISTS (SELECT 1 FROM inbound_mail m WHERE m.raw_sha256 = b.sha256)
      ORDER BY b.touched_at
      LIMIT $2
      FOR UPDATE SKIP LOCKED)
    RETURNING sha256`,
  /** The same for given blobs, without a grace (the caller just deleted the rows that named them). */
  deleteUnreferenced: `DELETE FROM blobs WHERE sha256 IN (
      SELECT b.sha256 FROM blobs b
      WHERE b.sha256 = ANY($1::text[])
        AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = b.sha256)
        AND NOT EXISTS (SELECT 1 FROM inbound_mail m WHERE m.raw_sha256 = b.sha256)
      FOR UPDATE SKIP LOCKED)
    RETURNING sha256`,
  /** Retention: the raw mail of processed mail received before the cutoff, a batch at a time. */
  expireRaw: `WITH old AS (
      SELECT id, raw_sha256 FROM inbound_mail
      WHERE status <> 'quarantined' AND raw_expired_at IS NULL
        AND received_at < clock_timestamp() - make_interval(days => $1::int)
      ORDER BY received_at
      LIMIT $2
      FOR UPDATE SKIP LOCKED)
    UPDATE inbound_mail m SET raw = NULL, raw_sha256 = NULL, raw_expired_at = clock_timestamp()
    FROM old WHERE m.id = old.id
    RETURNING old.raw_sha256`,
  /** Retention: quarantined mail received before its cutoff, deleted a batch at a time. */
  deleteQuarantined: `DELETE FROM inbound_mail WHERE id IN (
      SELECT id FROM inbound_mail
      WHERE status = 'quarantined' AND received_at < clock_timestamp() - make_interval(days => $1::int)
      ORDER BY id
      LIMIT $2
      FOR UPDATE SKIP LOCKED)
    RETURNING raw_sha256`,
  /** `maildesk blobs migrate`: old rows still holding bytes, after an id, a batch at a time. */
  pendingAttachments: `SELECT id, sha256, content FROM attachments WHERE content IS NOT NULL AND id > $1 ORDER BY id LIMIT $2`,
  pendingRaw: `SELECT id, raw FROM inbound_mail WHERE raw IS NOT NULL AND id > $1 ORDER BY id LIMIT $2`,
  countPending: `SELECT (SELECT count(*) FROM attachments WHERE content IS NOT NULL)::bigint AS attachments,
      (SELECT count(*) FROM inbound_mail WHERE raw IS NOT NULL)::bigint AS raw`,
  /** The bytes leave the row once the blob is durable (the blobs row was touched first). */
  movedAttachment: `UPDATE attachments SET content = NULL WHERE id = $1 AND sha256 = $2 AND content IS NOT NULL`,
  movedRaw: `UPDATE inbound_mail SET raw = NULL, raw_sha256 = $2 WHERE id = $1 AND raw IS NOT NULL`,
} as const;

/** The blobs table, and the statements that find and free blobs. */
@Injectable()
export class BlobsRepository {
  constructor(@InjectDataSource() readonly dataSource: DataSource) {}

  /** Marks blobs as being written (their own statement: never in a caller's transaction). */
  async touch(blobs: ReadonlyArray<{ sha256: string; size: number }>): Promise<void> {
    if (!blobs.length) return;
    await this.dataSource.query(SQL.touch, [blobs.map((b) => b.sha256), blobs.map((b) => b.size)]);
  }

  /** Runs `work` in one transaction. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async sweepBatch(tx: EntityManager, graceSeconds: number, limit: number): Promise<string[]> {
    return returned<{ sha256: string }>(await tx.query(SQL.sweep, [graceSeconds, limit])).map((r) => r.sha256);
  }

  async deleteUnreferenced(tx: EntityManager, hashes: string[]): Promise<string[]> {
    return returned<{ sha256: string }>(await tx.query(SQL.deleteUnreferenced, [hashes])).map((r) => r.sha256);
  }

  /** One batch of expired raw mail dropped; the blobs they named (to be freed). */
  async expireRaw(days: number, limit: number): Promise<{ count: number; hashes: string[] }> {
    const rows = returned<{ raw_sha256: string | null }>(await this.dataSource.query(SQL.expireRaw, [days, limit]));
    return { count: rows.length, hashes: rows.flatMap((r) => (r.raw_sha256 ? [r.raw_sha256] : [])) };
  }

  /** One batch of expired quarantined mail deleted; the blobs they named. */
  async deleteQuarantined(days: number, limit: number): Promise<{ count: number; hashes: string[] }> {
    const rows = returned<{ raw_sha256: string | null }>(
      await this.dataSource.query(SQL.deleteQuarantined, [days, limit]),
    );
    return { count: rows.length, hashes: rows.flatMap((r) => (r.raw_sha256 ? [r.raw_sha256] : [])) };
  }

  pendingAttachments(afterId: number, limit: number): Promise<Array<{ id: number; sha256: string; content: Buffer }>> {
    return this.dataSource.query(SQL.pendingAttachments, [afterId, limit]);
  }

  pendingRaw(afterId: number, limit: number): Promise<Array<{ id: string; raw: Buffer }>> {
    return this.dataSource.query(SQL.pendingRaw, [afterId, limit]);
  }

  async countPending(): Promise<{ attachments: number; raw: number }> {
    const [row] = await this.dataSource.query<Array<{ attachments: string; raw: string }>>(SQL.countPending);
    return { attachments: Number(row.attachments), raw: Number(row.raw) };
  }

  async movedAttachment(id: number, sha256: string): Promise<void> {
    await this.dataSource.query(SQL.movedAttachment, [id, sha256]);
  }

  async movedRaw(id: string, sha256: string): Promise<void> {
    await this.dataSource.query(SQL.movedRaw, [id, sha256]);
  }
}

/** The rows an UPDATE or DELETE ... RETURNING gave (TypeORM answers `[rows, count]` for those). */
function returned<T>(result: unknown): T[] {
  const r = result as unknown[];
  return (Array.isArray(r) && Array.isArray(r[0]) ? r[0] : r) as T[];
}
