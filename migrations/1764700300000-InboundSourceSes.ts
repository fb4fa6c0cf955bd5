import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `inbound_mail.source` gains `ses`: mail received from Amazon SES through SNS (POST /inbound/ses,
 * issue 19). The column's CHECK is replaced by one that lists every source; no row changes.
 */
export class InboundSourceSes1764700300000 implements MigrationInterface {
  name = 'InboundSourceSes1764700300000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inbound_mail DROP CONSTRAINT IF EXISTS inbound_mail_source_check`);
    await q.query(
      `ALTER TABLE inbound_mail ADD CONSTRAINT inbound_mail_source_check CHECK (source IN ('imap', 'webhook', 'cli', 'ses'))`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inbound_mail DROP CONSTRAINT IF EXISTS inbound_mail_source_check`);
    await q.query(
      `ALTER TABLE inbound_mail ADD CONSTRAINT inbound_mail_source_check CHECK (source IN ('imap', 'webhook', 'cli'))`,
    );
  }
}
