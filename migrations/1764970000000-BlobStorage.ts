import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Blob storage (issue 22 items 1 and 4): raw mail and attachments leave PostgreSQL for a blob store
 * (the filesystem under DATA_DIR/blobs or S3-compatible storage, src/blobs/), by SHA-256.
 *
 * - `blobs`: one row per stored object (sha256 hex, its size, when a writer last touched it). A
 *   writer upserts the row (touched_at) in its own statement before it writes the object; the
 *   sweeper deletes rows past the grace that no row names, with their objects (docs/storage.md).
 * - `attachments.sha256` and the new `inbound_mail.raw_sha256` reference blobs (ON DELETE NO
 *   ACTION): a row that names a blob holds its blobs row, so the sweeper can never delete a blob a
 *   committed (or committing) row names; the indexes serve that check and the sweeper's.
 * - `attachments.content` and `inbound_mail.raw` become nullable: new rows keep their bytes in the
 *   store only; old rows keep them until `maildesk blobs migrate` moves them. A blobs row is created
 *   here for every existing attachment hash (its object is written by the migrate command).
 * - `inbound_mail.raw_expired_at`: when retention (RAW_MAIL_RETENTION_DAYS) dropped the raw mail;
 *   the row stays (its dedupe key still makes a resent copy a duplicate).
 */
export class BlobStorage1764970000000 implements MigrationInterface {
  name = 'BlobStorage1764970000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE blobs (
        sha256     text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size       bigint NOT NULL,
        touched_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(`CREATE INDEX blobs_touched_at ON blobs (touched_at)`);
    // A hash that is not 64 lowercase hex digits (an empty parser checksum, capitals) is computed
    // again from the bytes the row holds: the blob is named by it.
    await q.query(`UPDATE attachments SET sha256 = encode(sha256(content), 'hex') WHERE sha256 !~ '^[0-9a-f]{64}$'`);
    await q.query(`
      INSERT INTO blobs (sha256, size)
      SELECT sha256, max(size) FROM attachments GROUP BY sha256
      ON CONFLICT DO NOTHING`);
    await q.query(`ALTER TABLE attachments ALTER COLUMN content DROP NOT NULL`);
    await q.query(`CREATE INDEX attachments_sha256 ON attachments (sha256)`);
    await q.query(
      `ALTER TABLE attachments ADD CONSTRAINT attachments_blob_fk FOREIGN KEY (sha256) REFERENCES blobs (sha256)`,
    );
    await q.query(`ALTER TABLE inbound_mail ALTER COLUMN raw DROP NOT NULL`);
    await q.query(`ALTER TABLE inbound_mail ADD COLUMN raw_sha256 text NULL`);
    await q.query(`ALTER TABLE inbound_mail ADD COLUMN raw_expired_at timestamptz NULL`);
    await q.query(`CREATE INDEX inbound_mail_raw_sha256 ON inbound_mail (raw_sha256) WHERE raw_sha256 IS NOT NULL`);
    await q.query(
      `ALTER TABLE inbound_mail ADD CONSTRAINT inbound_mail_raw_blob_fk FOREIGN KEY (raw_sha256) REFERENCES blobs (sha256)`,
    );
    // Retention: processed mail by age, quarantined mail by age (partial indexes, small).
    await q.query(
      `CREATE INDEX inbound_mail_raw_retention ON inbound_mail (received_at)
         WHERE status <> 'quarantined' AND raw_expired_at IS NULL`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX inbound_mail_raw_retention`);
    await q.query(`ALTER TABLE inbound_mail DROP CONSTRAINT inbound_mail_raw_blob_fk`);
    await q.query(`DROP INDEX inbound_mail_raw_sha256`);
    await q.query(`ALTER TABLE inbound_mail DROP COLUMN raw_expired_at`);
    await q.query(`ALTER TABLE inbound_mail DROP COLUMN raw_sha256`);
    await q.query(`ALTER TABLE attachments DROP CONSTRAINT attachments_blob_fk`);
    await q.query(`DROP INDEX attachments_sha256`);
    await q.query(`DROP TABLE blobs`);
    // raw and content stay nullable: rows whose bytes live in the store have none to restore.
  }
}
